#define _GNU_SOURCE
#include <sys/socket.h>
#include <spawn.h>
#include <malloc.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <errno.h>
#include "clinux.h"

int barge_start_writeback(int fd) { return sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE); }
int barge_exchange(int olddirfd, const char *oldpath, int newdirfd, const char *newpath) {
    return renameat2(olddirfd, oldpath, newdirfd, newpath, RENAME_EXCHANGE);
}
off_t barge_seek_data(int fd, off_t offset) { return lseek(fd, offset, SEEK_DATA); }
off_t barge_seek_hole(int fd, off_t offset) { return lseek(fd, offset, SEEK_HOLE); }
unsigned int barge_major(unsigned long long dev) { return major(dev); }
unsigned int barge_minor(unsigned long long dev) { return minor(dev); }
unsigned long long barge_makedev(unsigned int ma, unsigned int mi) { return makedev(ma, mi); }
int barge_o_noatime(void) { return O_NOATIME; }
int barge_o_direct(void) { return O_DIRECT; }

// A miss starts the kernel's read-ahead there (RWF_NOWAIT waits for no I/O but may start it).
int barge_is_cached(int fd, off_t offset) {
    char byte;
    struct iovec vector = { .iov_base = &byte, .iov_len = 1 };
    ssize_t got = preadv2(fd, &vector, 1, offset, RWF_NOWAIT);
    if (got >= 0) return 1;
    return errno == EAGAIN ? 0 : -1;
}
int barge_syncfs(int fd) { return syncfs(fd); }
long barge_getdents64(int fd, void *buffer, unsigned long length) { return syscall(SYS_getdents64, fd, buffer, length); }

int barge_peer_uid(int fd, unsigned int *uid) {
    struct ucred credentials;
    socklen_t length = sizeof(credentials);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return -1;
    *uid = credentials.uid;
    return 0;
}

int barge_spawn_close_from(void *actions, int lowest) {
    return posix_spawn_file_actions_addclosefrom_np((posix_spawn_file_actions_t *)actions, lowest);
}

int barge_limit_malloc_arenas(int count) { return mallopt(M_ARENA_MAX, count); }
int barge_fix_mmap_threshold(int bytes) { return mallopt(M_MMAP_THRESHOLD, bytes); }
