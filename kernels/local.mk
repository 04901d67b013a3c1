# rules for kernels/
