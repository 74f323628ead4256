/* datadir.c - the data directory's marker (see datadir.h).
 *
 * DESIGN: the marker is text so that an operator can read and edit it:
 *   mnemo data directory 1
 *   store memories
 *   store code
 * A store "exists" when its directory holds LevelDB's CURRENT file.
 * Threads: main thread at start only.
 */
#include "datadir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define HEADER "mnemo data directory 1"

static bool store_exists(const char *dir, const char *name)
{
    char path[4096];
    struct stat sb;
    snprintf(path, sizeof path, "%s/%s/CURRENT", dir, name);
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static bool known(const char *name, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(name, names[i]) == 0)
            return true;
    return false;
}

mnemo_status_t mnemo_datadir_check(bool *marked, const char *dir, const char *const *names,
                                   size_t n, mnemo_err_t *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, MNEMO_DATADIR_MARKER);
    *marked = false;
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return errno == ENOENT ? MNEMO_OK
                               : mnemo_err_set(err, MNEMO_EIO, "%s: %s", path, strerror(errno));
    *marked = true;
    char line[256];
    mnemo_status_t st = MNEMO_OK;
    bool header = fgets(line, sizeof line, f) != NULL && strncmp(line, HEADER, strlen(HEADER)) == 0;
    if (!header)
        st = mnemo_err_set(err, MNEMO_ECORRUPT, "%s: not a mnemo marker (first line)", path);
    for (int lineno = 2; st == MNEMO_OK && fgets(line, sizeof line, f) != NULL; lineno++) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0' || line[0] == '#')
            continue;
        if (strncmp(line, "store ", 6) != 0 || !known(line + 6, names, n)) {
            st = mnemo_err_set(err, MNEMO_ECORRUPT,
                               "%s:%d: want 'store NAME' naming one of this "
                               "mnemod's stores",
                               path, lineno);
        } else if (!store_exists(dir, line + 6)) {
            st = mnemo_err_set(err, MNEMO_ECORRUPT,
                               "data dir %s: the %s store is missing (%s/%s has no CURRENT file) "
                               "though the data dir was made with it (%s): restore it from a "
                               "backup; to start that store empty instead, delete its line from "
                               "%s",
                               dir, line + 6, dir, line + 6, path, path);
        }
    }
    fclose(f);
    return st;
}

mnemo_status_t mnemo_datadir_mark(const char *dir, const char *const *names, size_t n,
                                  mnemo_err_t *err)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/%s", dir, MNEMO_DATADIR_MARKER);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        return mnemo_err_set(err, MNEMO_EIO, "%s: %s", tmp, strerror(errno));
    fprintf(f, "%s\n# the stores this data dir holds; mnemod refuses to start without them\n",
            HEADER);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "store %s\n", names[i]);
    bool ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        mnemo_status_t st = mnemo_err_set(err, MNEMO_EIO, "%s: %s", path, strerror(errno));
        unlink(tmp);
        return st;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd); /* the rename itself survives a power loss */
        close(fd);
    }
    return MNEMO_OK;
}

/* ---- the ballast ---- */

static int ballast_path(char *out, size_t cap, const char *dir)
{
    return snprintf(out, cap, "%s/%s", dir, MNEMO_DATADIR_BALLAST) < (int)cap ? 0 : -1;
}

unsigned long long mnemo_datadir_free_bytes(const char *dir)
{
    struct statvfs v;
    return statvfs(dir, &v) == 0 ? (unsigned long long)v.f_bavail * v.f_frsize : 0;
}

unsigned long long mnemo_datadir_fs_bytes(const char *dir)
{
    struct statvfs v;
    return statvfs(dir, &v) == 0 ? (unsigned long long)v.f_blocks * v.f_frsize : 0;
}

mnemo_status_t mnemo_datadir_ballast_ensure(const char *dir, unsigned long long bytes,
                                            mnemo_err_t *err)
{
    char path[4096];
    if (ballast_path(path, sizeof path, dir) != 0)
        return mnemo_err_set(err, MNEMO_EINVAL, "ballast: path too long");
    if (bytes == 0) {
        mnemo_datadir_ballast_release(dir);
        return MNEMO_OK;
    }
    struct stat st;
    if (stat(path, &st) == 0 && (unsigned long long)st.st_size == bytes &&
        (unsigned long long)st.st_blocks * 512 >= bytes)
        return MNEMO_OK;
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return mnemo_err_set(err, MNEMO_EIO, "ballast %s: %s", path, strerror(errno));
    int rc = ftruncate(fd, 0) != 0 ? errno : posix_fallocate(fd, 0, (off_t)bytes);
    if (rc == 0 && fsync(fd) != 0)
        rc = errno;
    close(fd);
    if (rc != 0) {
        unlink(path); /* a partial ballast would only take room */
        return mnemo_err_set(err, MNEMO_EIO, "ballast %s (%llu bytes): %s", path, bytes,
                             strerror(rc));
    }
    return MNEMO_OK;
}

unsigned long long mnemo_datadir_ballast_bytes(const char *dir)
{
    char path[4096];
    struct stat st;
    if (ballast_path(path, sizeof path, dir) != 0 || stat(path, &st) != 0)
        return 0;
    unsigned long long held = (unsigned long long)st.st_blocks * 512;
    return held < (unsigned long long)st.st_size ? held : (unsigned long long)st.st_size;
}

unsigned long long mnemo_datadir_ballast_release(const char *dir)
{
    char path[4096];
    struct stat st;
    if (ballast_path(path, sizeof path, dir) != 0 || stat(path, &st) != 0)
        return 0;
    return unlink(path) == 0 ? (unsigned long long)st.st_blocks * 512 : 0;
}
