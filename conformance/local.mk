# rules for conformance/
