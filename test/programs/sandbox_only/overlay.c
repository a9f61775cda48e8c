/*
 * overlay: changes the host's files through the sandbox's root in every
 * way it can, and prints what it sees afterwards. Inside the sandbox the
 * changes hold; the test then checks that the host's files did not
 * change. Never run natively: as root it would modify the files it is
 * given.
 *
 * Usage (by the test only): overlay EXISTING_FILE NEW_PATH DIR
 */
#include "../common.h"
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>

#define TRY(what, call)                                                  \
	do {                                                             \
		errno = 0;                                               \
		long ret_ = (call);                                      \
		if (ret_ < 0)                                            \
			printf("%s: -1 %s\n", (what), errname(errno));   \
		else                                                     \
			printf("%s: ok\n", (what));                      \
	} while (0)

static void show_file(const char *label, const char *path)
{
	char buf[256];
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		printf("%s: -1 %s\n", label, errname(errno));
		return;
	}
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	buf[n < 0 ? 0 : n] = 0;
	close(fd);
	printf("%s: %s", label, buf);
}

int main(int argc, char **argv)
{
	if (argc != 4 || getpid() != 1) {
		fprintf(stderr, "overlay: run only by the test, inside magawa\n");
		return 99;
	}
	const char *file = argv[1], *newpath = argv[2], *dir = argv[3];
	char path[4096];

	int fd = open(file, O_WRONLY | O_TRUNC);
	TRY("open O_WRONLY|O_TRUNC", fd);
	TRY("write", write(fd, "changed\n", 8));
	close(fd);
	show_file("content after write", file);
	fd = open(file, O_WRONLY | O_APPEND);
	TRY("write O_APPEND", write(fd, "more\n", 5));
	close(fd);
	show_file("content after append", file);
	TRY("chmod", chmod(file, 0600));
	TRY("chown", chown(file, 1, 1));
	TRY("utimes", utimes(file, NULL));
	TRY("setxattr", setxattr(file, "trusted.magawa", "x", 1, 0));
	struct stat st;
	stat(file, &st);
	printf("mode and owner: %o %d:%d\n", st.st_mode & 07777, st.st_uid, st.st_gid);

	fd = open(newpath, O_WRONLY | O_CREAT | O_EXCL, 0644);
	TRY("create", fd);
	TRY("write new", write(fd, "new file\n", 9));
	close(fd);
	show_file("new file", newpath);
	snprintf(path, sizeof path, "%s/sub", dir);
	TRY("mkdir", mkdir(path, 0755));
	snprintf(path, sizeof path, "%s/link", dir);
	TRY("symlink", symlink(file, path));
	snprintf(path, sizeof path, "%s/hard", dir);
	TRY("link", link(file, path));
	snprintf(path, sizeof path, "%s/fifo", dir);
	TRY("mkfifo", mkfifo(path, 0644));
	snprintf(path, sizeof path, "%s/renamed", dir);
	TRY("rename", rename(newpath, path));
	TRY("unlink", unlink(file));
	TRY("open unlinked", open(file, O_RDONLY));

	/* The directory as the sandbox sees it now. */
	DIR *d = opendir(dir);
	struct dirent *e;
	char names[1024] = "";
	const char *list[32];
	int n = 0;
	while (d && (e = readdir(d)) && n < 32) {
		if (e->d_name[0] != '.')
			list[n++] = strdup(e->d_name);
	}
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (strcmp(list[j], list[i]) < 0) {
				const char *t = list[i];
				list[i] = list[j];
				list[j] = t;
			}
	for (int i = 0; i < n; i++) {
		strcat(names, " ");
		strcat(names, list[i]);
	}
	printf("directory:%s\n", names);
	TRY("rmdir with entries", rmdir(dir));
	return 0;
}
