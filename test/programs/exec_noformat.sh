echo this file has no #! line and is not ELF: execve fails with ENOEXEC
