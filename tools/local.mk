# rules for tools/
