package kernel_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"magawa/kernel/vfs"
)

// ipcLimitsSource tries, as user 1000 (without CAP_SYS_RESOURCE, which
// lifts the message queue limits), what the IPC limits bound; or as
// root listens with a backlog of 100 on a Unix socket and counts the
// connections it takes (listen); or makes a shared memory segment and
// exits (shmcreate), or looks for it (shmfind).
const ipcLimitsSource = `#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static struct { long mtype; char text[20000]; } msg = {1};

static const char *result(int r) { return r >= 0 ? "ok" : strerror(errno); }

static int ipc(void) {
	struct msginfo info;
	int q = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	printf("msgsnd %s\n", result(msgsnd(q, &msg, sizeof(msg.text), IPC_NOWAIT)));
	msgctl(q, IPC_RMID, NULL);
	msgctl(0, IPC_INFO, (struct msqid_ds *)&info);
	printf("IPC_INFO msgmax %d\n", info.msgmax);
	int shm = shmget(IPC_PRIVATE, 1 << 20, IPC_CREAT | 0600);
	printf("shmget %s\n", result(shm));
	if (shm >= 0)
		shmctl(shm, IPC_RMID, NULL);
	int sem = semget(IPC_PRIVATE, 100, IPC_CREAT | 0600);
	printf("semget %s\n", result(sem));
	if (sem >= 0)
		semctl(sem, 0, IPC_RMID);
	struct mq_attr attr = {.mq_maxmsg = 20, .mq_msgsize = 100};
	mqd_t mq = mq_open("/limits", O_RDWR | O_CREAT, 0600, &attr);
	printf("mq_open %s\n", result(mq));
	if (mq >= 0)
		mq_unlink("/limits");
	return 0;
}

static int backlog(void) {
	struct sockaddr_un addr = {.sun_family = AF_UNIX, .sun_path = "/tmp/listener"};
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	unlink(addr.sun_path);
	if (bind(l, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(l, 100) != 0) {
		perror("listen");
		return 1;
	}
	int n = 0;
	for (; n < 10; n++) {
		int c = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (connect(c, (struct sockaddr *)&addr, sizeof(addr)) != 0)
			break;
	}
	printf("connections %d\n", n);
	return 0;
}

int main(int argc, char **argv) {
	if (argc > 1 && strcmp(argv[1], "listen") == 0)
		return backlog();
	if (argc > 1 && strcmp(argv[1], "shmcreate") == 0)
		return shmget(0x5151, 4096, IPC_CREAT | 0600) < 0;
	if (argc > 1 && strcmp(argv[1], "shmfind") == 0) {
		printf("shm 0x5151 %s\n", result(shmget(0x5151, 0, 0)));
		return 0;
	}
	if (setuid(1000) != 0) {
		perror("setuid");
		return 1;
	}
	return ipc();
}
`

var (
	programsMu sync.Mutex
	programs   = map[string][]byte{}
)

// buildProgram builds a static C program once per name, or skips the
// test when gcc cannot.
func buildProgram(t *testing.T, name, source string) []byte {
	t.Helper()
	programsMu.Lock()
	defer programsMu.Unlock()
	if image, ok := programs[name]; ok {
		return image
	}
	if _, err := exec.LookPath("gcc"); err != nil {
		skip(t, "needs gcc and a static libc to build the test program (apt-get install gcc libc6-dev)")
	}
	dir := t.TempDir()
	src, bin := filepath.Join(dir, name+".c"), filepath.Join(dir, name)
	if err := os.WriteFile(src, []byte(source), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command("gcc", "-static", "-O2", "-o", bin, src).CombinedOutput(); err != nil {
		t.Fatalf("gcc -static: %v\n%s", err, b)
	}
	image, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	programs[name] = image
	return image
}

// A real program under the sandbox's kernel meets the IPC limits
// /proc/sys sets, as `docker run --sysctl` and OCI's linux.sysctl set
// them, shm_rmid_forced, and listen(2) net.core.somaxconn.
func TestSysctlLimits(t *testing.T) {
	image := buildProgram(t, "ipclimits", ipcLimitsSource)
	s := newSandbox(t, false)
	ctx := &vfs.Context{Creds: &vfs.RootCreds, Root: s.k.Mounts.Root(), Cwd: s.k.Mounts.Root()}
	writeFile(t, s.k.VFS, ctx, "/bin/ipclimits", image)
	out := s.start(`/bin/ipclimits && echo 65536 >/proc/sys/kernel/msgmax && echo 65536 >/proc/sys/kernel/msgmnb &&
		echo 4096 >/proc/sys/kernel/shmmax && echo "50 32000 32 128" >/proc/sys/kernel/sem &&
		echo 20 >/proc/sys/fs/mqueue/msg_max && /bin/ipclimits && cat /proc/sys/kernel/msgmax /proc/sys/kernel/sem &&
		/bin/ipclimits listen && echo 1 >/proc/sys/net/core/somaxconn && /bin/ipclimits listen &&
		/bin/ipclimits shmcreate && /bin/ipclimits shmfind && echo 1 >/proc/sys/kernel/shm_rmid_forced &&
		/bin/ipclimits shmfind && /bin/ipclimits shmcreate && /bin/ipclimits shmfind &&
		echo -1 >/proc/sys/kernel/msgmax || echo refused`)
	if st := s.wait(); st.Code != 0 {
		t.Errorf("init ended with %v", st)
	}
	<-out.done
	want := strings.Join([]string{
		"msgsnd Invalid argument", "IPC_INFO msgmax 8192", "shmget ok", "semget ok", "mq_open Invalid argument",
		"msgsnd ok", "IPC_INFO msgmax 65536", "shmget Invalid argument", "semget Invalid argument", "mq_open ok",
		"65536", "50\t32000\t32\t128",
		"connections 10", "connections 2",
		// An orphan goes once shm_rmid_forced is set; then a segment
		// goes with its creator.
		"shm 0x5151 ok", "shm 0x5151 No such file or directory", "shm 0x5151 No such file or directory",
		"sh: write error: Invalid argument", "refused",
	}, "\n") + "\n"
	if got := out.String(); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
	if l := s.k.IPCLimits(); l.SysV.MsgMax != 65536 || l.SysV.ShmMax != 4096 || l.MQ.MsgMax != 20 {
		t.Errorf("the kernel's limits: %+v", l)
	}
	if n := s.k.NetTunables(); n.Somaxconn != 1 {
		t.Errorf("somaxconn %d", n.Somaxconn)
	}
}
