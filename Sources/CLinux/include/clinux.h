#ifndef BARGE_CLINUX_H
#define BARGE_CLINUX_H
#include <sys/types.h>
#include <sys/xattr.h>

// Linux calls that Glibc's Swift overlay does not import (they need _GNU_SOURCE).

/// Starts writeback of a file's dirty pages without waiting for it.
int barge_start_writeback(int fd);
/// renameat2(RENAME_EXCHANGE): swaps two paths atomically.
int barge_exchange(int olddirfd, const char *oldpath, int newdirfd, const char *newpath);
/// lseek(SEEK_DATA) / lseek(SEEK_HOLE).
off_t barge_seek_data(int fd, off_t offset);
off_t barge_seek_hole(int fd, off_t offset);
/// The st_mtim / st_ctim nanoseconds fields and major/minor of a device number.
unsigned int barge_major(unsigned long long dev);
unsigned int barge_minor(unsigned long long dev);
unsigned long long barge_makedev(unsigned int major, unsigned int minor);

/// Whether the byte at `offset` is in the page cache: 1 yes, 0 no (a read would
/// wait for the disk), -1 unknown (preadv2 with RWF_NOWAIT unsupported, or an error).
int barge_is_cached(int fd, off_t offset);

/// O_NOATIME (generic Linux value), hidden from Swift behind _GNU_SOURCE.
int barge_o_noatime(void);
int barge_o_direct(void);

/// getdents64(2): raw directory entries, without a DIR stream (no dup, no allocation).
long barge_getdents64(int fd, void *buffer, unsigned long length);

/// syncfs(2): flushes the whole file system that holds fd.
int barge_syncfs(int fd);

/// The uid of the process at the other end of a Unix socket (SO_PEERCRED).
int barge_peer_uid(int fd, unsigned int *uid);

/// posix_spawn_file_actions_addclosefrom_np: the child closes every descriptor from `lowest` up.
int barge_spawn_close_from(void *actions, int lowest);

/// mallopt(M_ARENA_MAX): at most `count` malloc arenas for the process.
int barge_limit_malloc_arenas(int count);

/// mallopt(M_MMAP_THRESHOLD): blocks of at least `bytes` are always mmapped (and so returned
/// to the system when freed); also stops glibc from raising the threshold by itself.
int barge_fix_mmap_threshold(int bytes);

#endif
