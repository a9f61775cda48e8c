package abi

// Timespec is struct timespec.
type Timespec struct {
	Sec  int64
	Nsec int64
}

// Timeval is struct timeval.
type Timeval struct {
	Sec  int64
	Usec int64
}

// Timezone is struct timezone.
type Timezone struct {
	Minuteswest int32
	Dsttime     int32
}

// Iovec is struct iovec.
type Iovec struct {
	Base uint64
	Len  uint64
}

// Rlimit64 is struct rlimit64.
type Rlimit64 struct {
	Cur uint64
	Max uint64
}

// Utsname is struct new_utsname.
type Utsname struct {
	Sysname    [65]byte
	Nodename   [65]byte
	Release    [65]byte
	Version    [65]byte
	Machine    [65]byte
	Domainname [65]byte
}

// Limits of the I/O system calls.
const (
	// IOVMax is UIO_MAXIOV.
	IOVMax = 1024
	// MaxRWCount is MAX_RW_COUNT: a single read or write moves at most
	// this many bytes. Linux: include/linux/fs.h.
	MaxRWCount = 0x7ffff000
	// PathMax is PATH_MAX, including the terminating NUL.
	PathMax = 4096
)
