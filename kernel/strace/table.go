package strace

import "math"

// calls says how each system call is printed, keyed by the name in the
// kernel's system-call table. Arguments follow the x86-64 register order.
// A call missing here is printed with six hex arguments.
var calls = map[string]spec{
	// Files and descriptors.
	"read":        {args: []argFn{argFd, argReadBuf, argUlong}},
	"write":       {args: []argFn{argFd, argWriteBuf(2), argUlong}},
	"pread64":     {args: []argFn{argFd, argReadBuf, argUlong, argLong}},
	"pwrite64":    {args: []argFn{argFd, argWriteBuf(2), argUlong, argLong}},
	"readv":       {args: []argFn{argFd, argReadIovec, argUlong}},
	"writev":      {args: []argFn{argFd, argWriteIovec, argUlong}},
	"open":        {args: []argFn{argPath, argOpenFlags, argOpenMode(1)}},
	"openat":      {args: []argFn{argDirfd, argPath, argOpenFlags, argOpenMode(2)}},
	"close":       {args: []argFn{argFd}},
	"close_range": {args: []argFn{argUint, argUint, argFlags(closeRangeFlags, "CLOSE_RANGE_???")}},
	"lseek":       {args: []argFn{argFd, argLong, argValue(whences, "SEEK_???")}},
	"dup":         {args: []argFn{argFd}},
	"dup2":        {args: []argFn{argFd, argFd}},
	"dup3":        {args: []argFn{argFd, argFd, argFlags(openModeFlags, "O_???")}},
	"pipe":        {args: []argFn{out((*call).fdPair)}},
	"pipe2":       {args: []argFn{out((*call).fdPair), argFlags(pipeFlags, "O_???")}},
	"fcntl":       {custom: fmtFcntl, ret: fcntlResult},
	"ioctl":       {custom: fmtIoctl},
	"getdents64":  {args: []argFn{argFd, argDirents, argUlong}},
	"stat":        {args: []argFn{argPath, out((*call).stat)}},
	"lstat":       {args: []argFn{argPath, out((*call).stat)}},
	"fstat":       {args: []argFn{argFd, out((*call).stat)}},
	"newfstatat":  {args: []argFn{argDirfd, argPath, out((*call).stat), argFlags(atFlags, "AT_???")}},
	"statx": {args: []argFn{argDirfd, argPath, argStatxFlags,
		argFlags(statxMasks, "STATX_???"), out((*call).statx)}},
	"access":     {args: []argFn{argPath, argFlags(accessModes, "?_OK")}},
	"faccessat":  {args: []argFn{argDirfd, argPath, argFlags(accessModes, "?_OK")}},
	"faccessat2": {args: []argFn{argDirfd, argPath, argFlags(accessModes, "?_OK"), argFlags(faccessatFlags, "AT_???")}},
	"getcwd":     {args: []argFn{argReadPath, argUlong}},
	"chdir":      {args: []argFn{argPath}},
	"rename":     {args: []argFn{argPath, argPath}},
	"mkdir":      {args: []argFn{argPath, argMode}},
	"mkdirat":    {args: []argFn{argDirfd, argPath, argMode}},
	"rmdir":      {args: []argFn{argPath}},
	"unlink":     {args: []argFn{argPath}},
	"unlinkat":   {args: []argFn{argDirfd, argPath, argFlags(atFlags, "AT_???")}},
	"readlink":   {args: []argFn{argPath, argReadBuf, argUlong}},
	"readlinkat": {args: []argFn{argDirfd, argPath, argReadBuf, argUlong}},
	"chmod":      {args: []argFn{argPath, argMode}},
	"umask":      {args: []argFn{argMode}, ret: retOctal},
	"poll":       {args: []argFn{argPollfds, argUint, argInt}, ret: retPoll},
	"ppoll":      {args: []argFn{argPollfds, argUint, in((*call).timespec), argSigset(4), argUlong}, ret: retPpoll},
	"select":     {args: []argFn{argInt, argFdset, argFdset, argFdset, in((*call).timeval)}, ret: retSelect},
	"pselect6":   {args: []argFn{argInt, argFdset, argFdset, argFdset, in((*call).timespec), argPselectSigmask}, ret: retPselect},

	// Memory.
	"mmap":     {args: []argFn{argPtr, argUlong, argFlags64(mmapProt, "PROT_???"), argMmapFlags, argFd, argHex}, ret: retHex},
	"mprotect": {args: []argFn{argPtr, argUlong, argFlags64(mmapProt, "PROT_???")}},
	"munmap":   {args: []argFn{argPtr, argUlong}},
	"brk":      {args: []argFn{argPtr}, ret: retHex},
	"mremap":   {args: []argFn{argPtr, argUlong, argUlong, argFlags64(mremapFlags, "MREMAP_???"), argMremapNew}, ret: retHex},
	"msync":    {args: []argFn{argPtr, argUlong, argFlags(msyncFlags, "MS_???")}},
	"mincore":  {args: []argFn{argPtr, argUlong, argMincoreVec}},
	"madvise":  {args: []argFn{argPtr, argUlong, argValue(madviseAdvice, "MADV_???")}},
	"shmat":    {args: []argFn{argInt, argPtr, argHex}, ret: retHex},

	// Signals.
	"rt_sigaction":   {args: []argFn{argSignal, argSigaction, argOldSigaction, argUlong}},
	"rt_sigprocmask": {args: []argFn{argValue(sigprocmaskHow, "SIG_???"), argSigset(3), argOldSigset, argUlong}},
	// strace shows the mask restored from the signal frame, which is no
	// longer reachable once the call completed.
	"rt_sigreturn": {noResult: true},
	"sigaltstack":  {args: []argFn{in((*call).stackT), out((*call).stackT)}},
	"kill":         {args: []argFn{argInt, argSignal}},
	"tgkill":       {args: []argFn{argInt, argInt, argSignal}},

	// Processes and threads.
	"getpid":          {},
	"getppid":         {},
	"gettid":          {},
	"getuid":          {},
	"getgid":          {},
	"geteuid":         {},
	"getegid":         {},
	"getpgrp":         {},
	"setsid":          {},
	"setuid":          {args: []argFn{argUint}},
	"setgid":          {args: []argFn{argUint}},
	"sched_yield":     {},
	"fork":            {},
	"vfork":           {},
	"clone":           {custom: fmtClone},
	"clone3":          {custom: fmtClone3},
	"execve":          {args: []argFn{argPath, argArgv, argEnvp}},
	"execveat":        {args: []argFn{argDirfd, argPath, argArgv, argEnvp, argFlags(atFlags, "AT_???")}},
	"exit":            {args: []argFn{argInt}, noResult: true},
	"exit_group":      {args: []argFn{argInt}, noResult: true},
	"wait4":           {args: []argFn{argInt, argWaitStatus, argFlags(waitOptions, "W???"), argWaitRusage}},
	"arch_prctl":      {args: []argFn{argValue(archPrctlCodes, "ARCH_???"), argArchPrctlAddr}},
	"set_tid_address": {args: []argFn{argPtr}},
	"set_robust_list": {args: []argFn{argPtr, argUlong}},
	"get_robust_list": {args: []argFn{argInt, out((*call).ptrPtr), out((*call).ulongPtr)}},
	"futex":           {custom: fmtFutex},
	"rseq":            {args: []argFn{argPtr, argHex, argFlags(rseqFlags, "RSEQ_FLAG_???"), argHex}},
	"prlimit64": {args: []argFn{argInt, argValue(rlimitResources, "RLIMIT_???"),
		in((*call).rlimit), out((*call).rlimit)}},
	"getrlimit": {args: []argFn{argValue(rlimitResources, "RLIMIT_???"), out((*call).rlimit)}},
	"getrusage": {args: []argFn{argValue(rusageWho, "RUSAGE_???"), out((*call).rusage)}},
	"times":     {args: []argFn{out((*call).tms)}},

	// Time.
	"nanosleep":       {args: []argFn{in((*call).timespec), argSleepRem}},
	"clock_nanosleep": {args: []argFn{argClock, argFlags(timerFlags, "TIMER_???"), in((*call).timespec), argClockSleepRem}},
	"clock_gettime":   {args: []argFn{argClock, out((*call).timespec)}},
	"clock_getres":    {args: []argFn{argClock, out((*call).timespec)}},
	"gettimeofday":    {args: []argFn{out((*call).timeval), out((*call).timezone)}},
	"time":            {args: []argFn{argTimeOut}, ret: retTime},

	// System.
	"uname":     {args: []argFn{out((*call).utsname)}},
	"sysinfo":   {args: []argFn{out((*call).sysinfo)}},
	"getrandom": {args: []argFn{argGetrandomBuf, argUlong, argFlags(getrandomFlags, "GRND_???")}},
	"reboot": {args: []argFn{argValue(rebootMagic1, "LINUX_REBOOT_MAGIC_???"),
		argValue(rebootMagic2, "LINUX_REBOOT_MAGIC_???"),
		argValue(rebootCmds, "LINUX_REBOOT_CMD_???"), argRebootArg}},
	"mount":        {custom: fmtMount},
	"umount2":      {args: []argFn{argPath, argFlags(umountFlags, "MNT_???")}},
	"init_module":  {args: []argFn{argPtr, argUlong, argStr}},
	"finit_module": {args: []argFn{argFd, argStr, argFlags(finitModuleFlags, "MODULE_INIT_???")}},

	// Common calls beyond the ones the kernel started with, cheap to show.
	"creat":             {args: []argFn{argPath, argMode}},
	"getdents":          {args: []argFn{argFd, argDirents, argUlong}},
	"symlink":           {args: []argFn{argPath, argPath}},
	"symlinkat":         {args: []argFn{argPath, argDirfd, argPath}},
	"link":              {args: []argFn{argPath, argPath}},
	"linkat":            {args: []argFn{argDirfd, argPath, argDirfd, argPath, argFlags(atFlags, "AT_???")}},
	"renameat":          {args: []argFn{argDirfd, argPath, argDirfd, argPath}},
	"renameat2":         {args: []argFn{argDirfd, argPath, argDirfd, argPath, argFlags(renameFlags, "RENAME_???")}},
	"fchdir":            {args: []argFn{argFd}},
	"fchmod":            {args: []argFn{argFd, argMode}},
	"fchmodat":          {args: []argFn{argDirfd, argPath, argMode}},
	"chown":             {args: []argFn{argPath, argUID, argUID}},
	"lchown":            {args: []argFn{argPath, argUID, argUID}},
	"fchown":            {args: []argFn{argFd, argUID, argUID}},
	"fchownat":          {args: []argFn{argDirfd, argPath, argUID, argUID, argFlags(atFlags, "AT_???")}},
	"truncate":          {args: []argFn{argPath, argLong}},
	"ftruncate":         {args: []argFn{argFd, argLong}},
	"fsync":             {args: []argFn{argFd}},
	"fdatasync":         {args: []argFn{argFd}},
	"getpgid":           {args: []argFn{argInt}},
	"setpgid":           {args: []argFn{argInt, argInt}},
	"getsid":            {args: []argFn{argInt}},
	"alarm":             {args: []argFn{argUint}},
	"pause":             {},
	"sched_getaffinity": {args: []argFn{argInt, argUlong, argCPUSet}},
	"sched_setaffinity": {args: []argFn{argInt, argUlong, argCPUSetIn}},
	"getitimer":         {args: []argFn{argValue(itimerWhich, "ITIMER_???"), out((*call).itimerval)}},
	"setitimer":         {args: []argFn{argValue(itimerWhich, "ITIMER_???"), in((*call).itimerval), out((*call).itimerval)}},
}

// Formatters used by the table above that need a little glue.

func argReadIovec(c *call, i int) string {
	if c.failed() {
		return c.iovec(c.args[i], uint64(c.args[2]), -2)
	}
	n := int64(c.ret)
	if n < 0 { // a nonsensical count: show every buffer in full
		n = math.MaxInt64
	}
	return c.iovec(c.args[i], uint64(c.args[2]), n)
}

func argWriteIovec(c *call, i int) string { return c.iovec(c.args[i], uint64(c.args[2]), -1) }

func argPollfds(c *call, i int) string { return c.pollfds(c.args[i], uint64(uint32(c.args[1]))) }

func retPoll(c *call) string { return c.pollResult(c.args[0], uint64(uint32(c.args[1])), 0) }

func retPpoll(c *call) string {
	return c.pollResult(c.args[0], uint64(uint32(c.args[1])), c.args[2])
}

func argFdset(c *call, i int) string { return c.fdset(c.args[i], int64(int32(c.args[0]))) }

func retSelect(c *call) string  { return c.selectResult(false) }
func retPselect(c *call) string { return c.selectResult(true) }

func argSigaction(c *call, i int) string { return c.sigaction(c.args[i], uint64(c.args[3])) }

func argOldSigaction(c *call, i int) string {
	if c.failed() {
		return ptr(c.args[i])
	}
	return argSigaction(c, i)
}

func argOldSigset(c *call, i int) string {
	if c.failed() {
		return ptr(c.args[i])
	}
	return c.sigset(c.args[i], uint64(c.args[3]))
}

func argArgv(c *call, i int) string { return c.argv(c.args[i]) }
func argEnvp(c *call, i int) string { return c.envp(c.args[i]) }

// argClockSleepRem is clock_nanosleep's remaining time, which an
// absolute sleep never has.
func argClockSleepRem(c *call, i int) string {
	if c.args[1]&1 != 0 {
		return ptr(c.args[i])
	}
	return argSleepRem(c, i)
}

// argUID prints a user or group id; -1 ("leave unchanged") as such.
func argUID(c *call, i int) string {
	if uint32(c.args[i]) == ^uint32(0) {
		return "-1"
	}
	return argUint(c, i)
}

// argCPUSet prints the CPU mask sched_getaffinity wrote; the result is
// its size in bytes.
func argCPUSet(c *call, i int) string {
	if c.failed() {
		return ptr(c.args[i])
	}
	return c.cpuSet(c.args[i], uint64(c.ret))
}

func argCPUSetIn(c *call, i int) string { return c.cpuSet(c.args[i], uint64(c.args[1])) }
