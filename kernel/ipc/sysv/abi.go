package sysv

// The structures of the x86-64 ABI that the *ctl calls exchange (the
// "64" versions, the only ones x86-64 has). Explicit padding keeps them
// byte-exact for copying. Linux: include/uapi/asm-generic/ipcbuf.h,
// shmbuf.h, msgbuf.h; arch/x86/include/uapi/asm/sembuf.h.

// IPCPerm is struct ipc64_perm.
type IPCPerm struct {
	Key                  int32
	UID, GID, CUID, CGID uint32
	Mode                 uint32
	Seq                  uint16
	_                    uint16
	_                    uint32
	_                    [2]uint64
}

// ShmidDS is struct shmid64_ds.
type ShmidDS struct {
	Perm                IPCPerm
	Segsz               uint64
	Atime, Dtime, Ctime int64
	Cpid, Lpid          int32
	Nattch              uint64
	_                   [2]uint64
}

// SemidDS is struct semid64_ds.
type SemidDS struct {
	Perm  IPCPerm
	Otime int64
	_     uint64
	Ctime int64
	_     uint64
	Nsems uint64
	_     [2]uint64
}

// MsqidDS is struct msqid64_ds.
type MsqidDS struct {
	Perm                IPCPerm
	Stime, Rtime, Ctime int64
	Cbytes              uint64
	Qnum                uint64
	Qbytes              uint64
	Lspid, Lrpid        int32
	_                   [2]uint64
}

// Shminfo is struct shminfo64 (shmctl IPC_INFO).
type Shminfo struct {
	Shmmax, Shmmin, Shmmni, Shmseg, Shmall uint64
	_                                      [4]uint64
}

// ShmInfo is struct shm_info (shmctl SHM_INFO): usage, in pages.
type ShmInfo struct {
	UsedIDs                     int32
	_                           int32
	ShmTot, ShmRss, ShmSwp      uint64
	SwapAttempts, SwapSuccesses uint64
}

// Seminfo is struct seminfo (semctl IPC_INFO and SEM_INFO).
type Seminfo struct {
	Semmap, Semmni, Semmns, Semmnu, Semmsl int32
	Semopm, Semume, Semusz, Semvmx, Semaem int32
}

// Msginfo is struct msginfo (msgctl IPC_INFO and MSG_INFO).
type Msginfo struct {
	Msgpool, Msgmap, Msgmax, Msgmnb, Msgmni, Msgssz, Msgtql int32
	Msgseg                                                  uint16
	_                                                       uint16
}

// SemBuf is one operation of semop (struct sembuf: 6 bytes, decoded by
// DecodeSemBufs).
type SemBuf struct {
	Num uint16
	Op  int16
	Flg int16
}

// SemBufSize is the size of struct sembuf.
const SemBufSize = 6

// DecodeSemBufs decodes an array of struct sembuf.
func DecodeSemBufs(b []byte) []SemBuf {
	out := make([]SemBuf, len(b)/SemBufSize)
	for i := range out {
		p := b[i*SemBufSize:]
		out[i] = SemBuf{
			Num: uint16(p[0]) | uint16(p[1])<<8,
			Op:  int16(uint16(p[2]) | uint16(p[3])<<8),
			Flg: int16(uint16(p[4]) | uint16(p[5])<<8),
		}
	}
	return out
}
