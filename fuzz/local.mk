# rules for fuzz/
