/* host.m: macOS host program for the Metal kernels (work in progress) */
