/* walker.c - the file list of a repository sync, and safe reads of its
 * files.
 *
 * DESIGN: the walk is an explicit depth-first stack of open directory
 * streams, one per level, so it holds at most MAX_DEPTH + 1 descriptors
 * and no recursion; a directory deeper than MAX_DEPTH is a skip ("too
 * deep"). Every directory is opened with openat(O_NOFOLLOW|O_DIRECTORY)
 * relative to its parent's descriptor, every entry is classified with
 * fstatat(AT_SYMLINK_NOFOLLOW) (d_type may be DT_UNKNOWN), and nothing but
 * directories and ignore files is ever opened during the walk, so a FIFO,
 * socket or device is never touched. Excluded directories are recognised
 * by (st_dev, st_ino), taken once from their paths at the start and
 * compared both at lstat time and on the descriptor actually opened, so no
 * spelling of the path and no rename race gets the walker into the data
 * dir. The ignore stack (ignore.h) gets .git/info/exclude and the root
 * .gitignore first, then each directory's .gitignore when the directory
 * is entered; ignore files are read like any file here: no symlink, no
 * FIFO, at most IGNORE_FILE_MAX bytes (a larger one is not applied).
 * An entry is checked in this order: ".git", lstat, excluded, ignored,
 * UTF-8 name, then its type and size. Skips and files are sorted by path
 * at the end (bytewise, strcmp).
 *
 * Reading resolves relpath below an O_DIRECTORY descriptor of the root
 * with openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS); where the kernel has
 * no openat2 (ENOSYS, remembered) or a filter refuses it (EPERM), it opens
 * component by component with O_NOFOLLOW after refusing "", "." and ".."
 * components. Building with -DMNEMO_WALK_NO_OPENAT2 forces that path (to
 * test it). Allocation failure aborts, as elsewhere in the daemon.
 *
 * Threads: any thread; a walk and its result belong to the calling thread.
 * The only shared state is the atomic "openat2 is missing" flag.
 */
#include "walker.h"

#include "bytes.h"
#include "ignore.h"
#include "utf8.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_DEPTH       256        /* directory levels below the root */
#define IGNORE_FILE_MAX (1u << 20) /* larger ignore files are not applied */
#define READ_TOO_LARGE  (-1)       /* read_all(): more than max bytes */

#ifdef MNEMO_WALK_NO_OPENAT2
static atomic_bool openat2_missing = true;
#else
static atomic_bool openat2_missing = false;
#endif

typedef struct dev_ino {
    dev_t dev;
    ino_t ino;
} dev_ino_t;

typedef struct frame {
    DIR *dir;        /* owns the directory's descriptor */
    char *rel;       /* "" for the root */
    size_t ig_depth; /* ignore sets in force before this directory's own */
} frame_t;

typedef struct walk {
    const mnemo_walk_options_t *opts;
    mnemo_ignore_t *ig;
    dev_ino_t *excl;
    size_t n_excl;
    frame_t stack[MAX_DEPTH + 1]; /* [0..depth): root first */
    size_t depth;
    mnemo_walk_result_t res;
    size_t cap_files;
    size_t cap_skips;
    char *path; /* scratch for an entry's relative path */
    size_t path_cap;
} walk_t;

/* ---- small helpers ---- */

static void close_keep_errno(int fd)
{
    int saved = errno;
    if (fd >= 0)
        close(fd);
    errno = saved;
}

static int64_t mtime_ns_of(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* s with every byte that is not part of a well-formed UTF-8 sequence
 * written as \xNN; the caller's (free()). */
static char *escape_path(const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t len = strlen(s), o = 0;
    char *out = mnemo_xrealloc(NULL, 4 * len + 1);
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        size_t n = c < 0x80 ? 1 : c < 0xC2 ? 0 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : c < 0xF5 ? 4 : 0;
        if (n != 0 && n <= len - i && mnemo_utf8_valid(s + i, n)) {
            memcpy(out + o, s + i, n);
            o += n;
            i += n;
            continue;
        }
        out[o++] = '\\';
        out[o++] = 'x';
        out[o++] = hex[c >> 4];
        out[o++] = hex[c & 0xf];
        i++;
    }
    out[o] = '\0';
    return out;
}

/* Reads fd to its end into *out (NUL-terminated, the caller's). hint is
 * the expected size. 0, READ_TOO_LARGE past max bytes, or an errno value. */
static int read_all(int fd, uint64_t max, uint64_t hint, char **out, size_t *len)
{
    uint64_t limit = max < SIZE_MAX - 2 ? max + 2 : SIZE_MAX; /* max+1 bytes and a NUL */
    size_t cap = (size_t)((hint < max ? hint : max) + 2), used = 0;
    char *buf = mnemo_xrealloc(NULL, cap);
    for (;;) {
        if (used == cap - 1) {
            cap = cap <= limit / 2 ? 2 * cap : (size_t)limit;
            buf = mnemo_xrealloc(buf, cap);
        }
        ssize_t n = read(fd, buf + used, cap - 1 - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            free(buf);
            return e;
        }
        if (n == 0)
            break;
        used += (size_t)n;
        if (used > max) {
            free(buf);
            return READ_TOO_LARGE;
        }
    }
    buf[used] = '\0';
    *out = buf;
    *len = used;
    return 0;
}

/* Reads name in dirfd when it is a regular file of at most cap bytes,
 * following no symlink and never blocking on a FIFO; false otherwise. */
static bool read_small_file(int dirfd, const char *name, uint64_t cap, char **out, size_t *len)
{
    struct stat st;
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    bool ok = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
              (uint64_t)st.st_size <= cap && read_all(fd, cap, (uint64_t)st.st_size, out, len) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* ---- the result ---- */

static void add_skip(walk_t *w, const char *rel, const char *reason)
{
    mnemo_walk_result_t *r = &w->res;
    if (r->n_skips == w->cap_skips) {
        w->cap_skips = w->cap_skips != 0 ? 2 * w->cap_skips : 16;
        r->skips = mnemo_xrealloc(r->skips, w->cap_skips * sizeof *r->skips);
    }
    r->skips[r->n_skips++] = (mnemo_walk_skip_t){escape_path(rel[0] != '\0' ? rel : "."), reason};
}

static void add_file(walk_t *w, const char *rel, const struct stat *st)
{
    mnemo_walk_result_t *r = &w->res;
    if (r->n_files == w->cap_files) {
        w->cap_files = w->cap_files != 0 ? 2 * w->cap_files : 64;
        r->files = mnemo_xrealloc(r->files, w->cap_files * sizeof *r->files);
    }
    r->files[r->n_files++] =
        (mnemo_walk_file_t){mnemo_xstrdup(rel), (uint64_t)st->st_size, mtime_ns_of(st)};
}

static int cmp_file(const void *a, const void *b)
{
    return strcmp(((const mnemo_walk_file_t *)a)->path, ((const mnemo_walk_file_t *)b)->path);
}

static int cmp_skip(const void *a, const void *b)
{
    return strcmp(((const mnemo_walk_skip_t *)a)->path, ((const mnemo_walk_skip_t *)b)->path);
}

void mnemo_walk_result_cleanup(mnemo_walk_result_t *res)
{
    if (res == NULL)
        return;
    for (size_t i = 0; i < res->n_files; i++)
        free(res->files[i].path);
    for (size_t i = 0; i < res->n_skips; i++)
        free(res->skips[i].path);
    free(res->files);
    free(res->skips);
    *res = (mnemo_walk_result_t){0};
}

/* ---- the walk ---- */

static bool is_excluded(const walk_t *w, const struct stat *st)
{
    for (size_t i = 0; i < w->n_excl; i++)
        if (w->excl[i].dev == st->st_dev && w->excl[i].ino == st->st_ino)
            return true;
    return false;
}

/* Identities of the existing excluded directories. */
static void load_excludes(walk_t *w)
{
    const mnemo_walk_options_t *o = w->opts;
    w->excl = mnemo_xrealloc(NULL, o->n_exclude_dirs * sizeof *w->excl);
    for (size_t i = 0; i < o->n_exclude_dirs; i++) {
        struct stat st;
        if (o->exclude_dirs[i] != NULL && stat(o->exclude_dirs[i], &st) == 0 && S_ISDIR(st.st_mode))
            w->excl[w->n_excl++] = (dev_ino_t){st.st_dev, st.st_ino};
    }
}

/* Pushes the rules of name in dirfd, if it is a readable ignore file. */
static void push_ignore_file(walk_t *w, int dirfd, const char *name, const char *base)
{
    char *text;
    size_t len;
    if (read_small_file(dirfd, name, IGNORE_FILE_MAX, &text, &len)) {
        mnemo_ignore_push(w->ig, base, text, len);
        free(text);
    }
}

/* .git/info/exclude, when .git is a directory: the root's first set. */
static void push_info_exclude(walk_t *w, int rootfd)
{
    int git = openat(rootfd, ".git", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int info = git >= 0 ? openat(git, "info", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) : -1;
    if (info >= 0)
        push_ignore_file(w, info, "exclude", "");
    close_keep_errno(info);
    close_keep_errno(git);
}

/* Makes the directory open on fd (which it takes over) the walk's top. */
static void push_frame(walk_t *w, int fd, const char *rel)
{
    DIR *dir = fdopendir(fd);
    if (dir == NULL) {
        close(fd);
        add_skip(w, rel, "unreadable directory");
        return;
    }
    frame_t *f = &w->stack[w->depth++];
    *f = (frame_t){dir, mnemo_xstrdup(rel), mnemo_ignore_depth(w->ig)};
    push_ignore_file(w, fd, ".gitignore", rel);
}

static void pop_frame(walk_t *w)
{
    frame_t *f = &w->stack[--w->depth];
    while (mnemo_ignore_depth(w->ig) > f->ig_depth)
        mnemo_ignore_pop(w->ig);
    closedir(f->dir);
    free(f->rel);
}

static void enter_dir(walk_t *w, int parent_fd, const char *name, const char *rel)
{
    struct stat st;
    if (w->depth > MAX_DEPTH) {
        add_skip(w, rel, "too deep");
        return;
    }
    int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno != ENOENT) /* ENOENT: removed since readdir, nothing to report */
            add_skip(w, rel, errno == ELOOP ? "symlink" : "unreadable directory");
        return;
    }
    if (fstat(fd, &st) != 0) {
        close(fd);
        add_skip(w, rel, "unreadable directory");
        return;
    }
    if (is_excluded(w, &st)) { /* renamed into place since the lstat */
        close(fd);
        add_skip(w, rel, "excluded");
        return;
    }
    push_frame(w, fd, rel);
}

/* w->path = parent + "/" + name (or name at the root). */
static const char *join_path(walk_t *w, const char *parent, const char *name)
{
    size_t pl = strlen(parent), nl = strlen(name), need = pl + nl + 2;
    if (need > w->path_cap) {
        w->path_cap = need > 2 * w->path_cap ? need : 2 * w->path_cap;
        w->path = mnemo_xrealloc(w->path, w->path_cap);
    }
    size_t o = 0;
    if (pl != 0) {
        memcpy(w->path, parent, pl);
        w->path[pl] = '/';
        o = pl + 1;
    }
    memcpy(w->path + o, name, nl + 1);
    return w->path;
}

/* Lists, skips or descends into one entry of the top directory. */
static void walk_entry(walk_t *w, const char *name)
{
    const frame_t *f = &w->stack[w->depth - 1];
    int dfd = dirfd(f->dir);
    const char *rel = join_path(w, f->rel, name);
    struct stat st;
    if (strcmp(name, ".git") == 0) {
        add_skip(w, rel, "git metadata");
        return;
    }
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno != ENOENT)
            add_skip(w, rel, "cannot stat");
        return;
    }
    bool is_dir = S_ISDIR(st.st_mode);
    if (is_dir && is_excluded(w, &st))
        add_skip(w, rel, "excluded");
    else if (mnemo_ignore_match(w->ig, rel, is_dir))
        add_skip(w, rel, "ignored");
    else if (!mnemo_utf8_valid(name, strlen(name)))
        add_skip(w, rel, "name is not valid UTF-8");
    else if (is_dir)
        enter_dir(w, dfd, name, rel);
    else if (S_ISLNK(st.st_mode))
        add_skip(w, rel, "symlink");
    else if (!S_ISREG(st.st_mode))
        add_skip(w, rel, "not a regular file");
    else if ((uint64_t)st.st_size > w->opts->max_file_bytes)
        add_skip(w, rel, "too large");
    else
        add_file(w, rel, &st);
}

static bool cancelled(const walk_t *w)
{
    return w->opts->cancel != NULL && atomic_load(w->opts->cancel);
}

/* Drains the stack; MNEMO_ECANCELLED as soon as the cancel flag is seen. */
static mnemo_status_t walk_run(walk_t *w, mnemo_err_t *err)
{
    while (w->depth > 0) {
        if (cancelled(w))
            return mnemo_err_set(err, MNEMO_ECANCELLED, "walk: cancelled");
        frame_t *f = &w->stack[w->depth - 1];
        errno = 0;
        struct dirent *de = readdir(f->dir);
        if (de == NULL) {
            if (errno != 0)
                add_skip(w, f->rel, "unreadable directory");
            pop_frame(w);
            continue;
        }
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            walk_entry(w, de->d_name);
    }
    return MNEMO_OK;
}

/* Opens root as a directory; EINVAL when it is not one, EIO otherwise. */
static mnemo_status_t open_root(int *fd, const char *root, struct stat *st, mnemo_err_t *err)
{
    char msg[128];
    *fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*fd < 0) {
        int e = errno;
        const char *text = strerror_r(e, msg, sizeof msg);
        if (e == ENOTDIR || e == ENOENT || e == ELOOP)
            return mnemo_err_set(err, MNEMO_EINVAL, "root: %s is not a directory (%s)", root, text);
        return mnemo_err_set(err, MNEMO_EIO, "root: cannot open %s: %s", root, text);
    }
    if (fstat(*fd, st) != 0) {
        const char *text = strerror_r(errno, msg, sizeof msg);
        close(*fd);
        return mnemo_err_set(err, MNEMO_EIO, "root: cannot stat %s: %s", root, text);
    }
    return MNEMO_OK;
}

static void walk_cleanup(walk_t *w)
{
    while (w->depth > 0)
        pop_frame(w);
    mnemo_ignore_destroy(w->ig);
    mnemo_walk_result_cleanup(&w->res);
    free(w->excl);
    free(w->path);
    free(w);
}

mnemo_status_t mnemo_walk(mnemo_walk_result_t *out, const char *root,
                          const mnemo_walk_options_t *opts, mnemo_err_t *err)
{
    struct stat st;
    int fd;
    assert(out != NULL && root != NULL && opts != NULL);
    mnemo_status_t rc = open_root(&fd, root, &st, err);
    if (rc != MNEMO_OK)
        return rc;
    walk_t *w = mnemo_xrealloc(NULL, sizeof *w);
    *w = (walk_t){.opts = opts, .ig = mnemo_ignore_create()};
    load_excludes(w);
    if (is_excluded(w, &st)) {
        close(fd);
        rc = mnemo_err_set(err, MNEMO_EINVAL, "root: %s is an excluded directory", root);
        goto done;
    }
    push_info_exclude(w, fd);
    push_frame(w, fd, "");
    if (w->depth == 0) {
        rc = mnemo_err_set(err, MNEMO_EIO, "root: cannot list %s", root);
        goto done;
    }
    rc = walk_run(w, err);
    if (rc != MNEMO_OK)
        goto done;
    if (w->res.n_files > 1) /* qsort's base must not be NULL, even for 0 items */
        qsort(w->res.files, w->res.n_files, sizeof *w->res.files, cmp_file);
    if (w->res.n_skips > 1)
        qsort(w->res.skips, w->res.n_skips, sizeof *w->res.skips, cmp_skip);
    *out = w->res;
    w->res = (mnemo_walk_result_t){0};
done:
    walk_cleanup(w);
    return rc;
}

/* ---- reading one file ---- */

/* True when p is a relative path of non-empty components other than "."
 * and "..". */
static bool relpath_ok(const char *p)
{
    if (p == NULL || *p == '\0' || *p == '/')
        return false;
    for (const char *c = p; *c != '\0';) {
        size_t n = strcspn(c, "/");
        if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
            return false;
        c += n;
        if (*c == '/' && *++c == '\0')
            return false; /* trailing '/' */
    }
    return true;
}

/* The fallback of open_beneath(): one O_NOFOLLOW openat per component.
 * relpath has passed relpath_ok(). */
static int open_by_components(int rootfd, const char *relpath, int flags)
{
    char comp[NAME_MAX + 1];
    int cur = rootfd, fd = -1;
    for (const char *p = relpath;;) {
        size_t n = strcspn(p, "/");
        if (n > NAME_MAX) {
            errno = ENAMETOOLONG;
            break;
        }
        memcpy(comp, p, n);
        comp[n] = '\0';
        if (p[n] == '\0') {
            fd = openat(cur, comp, flags);
            break;
        }
        int next = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;
        if (next < 0 && errno == ENOTDIR && fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISLNK(st.st_mode))
            errno = ELOOP;
        if (next < 0)
            break;
        if (cur != rootfd)
            close(cur);
        cur = next;
        p += n + 1;
    }
    if (cur != rootfd)
        close_keep_errno(cur);
    return fd;
}

/* Opens relpath below rootfd without following any symlink; -1 and errno
 * (ELOOP for a symlink anywhere on the way). */
static int open_beneath(int rootfd, const char *relpath)
{
    int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
    if (!atomic_load(&openat2_missing)) {
        struct open_how how = {.flags = (uint64_t)flags,
                               .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS};
        long fd = syscall(SYS_openat2, rootfd, relpath, &how, sizeof how);
        if (fd >= 0 || (errno != ENOSYS && errno != EPERM))
            return (int)fd;
        if (errno == ENOSYS)
            atomic_store(&openat2_missing, true);
    }
    return open_by_components(rootfd, relpath, flags);
}

static mnemo_status_t skip_file(const char **reason, const char *why, const char *relpath,
                                mnemo_err_t *err)
{
    *reason = why;
    return mnemo_err_set(err, MNEMO_EPRECOND, "%s: %s", relpath, why);
}

static mnemo_status_t io_error(int e, const char *what, const char *relpath, mnemo_err_t *err)
{
    char msg[128];
    return mnemo_err_set(err, MNEMO_EIO, "%s: cannot %s: %s", relpath, what,
                         strerror_r(e, msg, sizeof msg));
}

/* Opens relpath below root as a regular file of at most max bytes into *fd
 * (with its fstat in *st); a skip or an I/O error otherwise. */
static mnemo_status_t open_checked(int *fd, struct stat *st, const char **reason, const char *root,
                                   const char *relpath, uint64_t max, mnemo_err_t *err)
{
    mnemo_status_t rc = MNEMO_OK;
    int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return io_error(errno, "open the root", root, err);
    *fd = open_beneath(rootfd, relpath);
    if (*fd < 0) {
        if (errno == ELOOP)
            rc = skip_file(reason, "symlink", relpath, err);
        else if (errno == ENXIO) /* a socket */
            rc = skip_file(reason, "not a regular file", relpath, err);
        else if (errno == EXDEV)
            rc = mnemo_err_set(err, MNEMO_EINVAL, "%s: leaves the root", relpath);
        else
            rc = io_error(errno, "open", relpath, err);
    } else if (fstat(*fd, st) != 0) {
        rc = io_error(errno, "stat", relpath, err);
    } else if (!S_ISREG(st->st_mode)) {
        rc = skip_file(reason, "not a regular file", relpath, err);
    } else if ((uint64_t)st->st_size > max) {
        rc = skip_file(reason, "too large", relpath, err);
    }
    if (rc != MNEMO_OK && *fd >= 0)
        close(*fd);
    close(rootfd);
    return rc;
}

mnemo_status_t mnemo_walk_read_file(char **data, size_t *len, uint64_t *size, int64_t *mtime_ns,
                                    const char **reason, const char *root, const char *relpath,
                                    uint64_t max_file_bytes, mnemo_err_t *err)
{
    struct stat st;
    int fd = -1;
    char *buf = NULL;
    size_t n = 0;
    if (!relpath_ok(relpath))
        return mnemo_err_set(err, MNEMO_EINVAL,
                             "path: \"%s\" is not a relative path below the root",
                             relpath != NULL ? relpath : "(null)");
    mnemo_status_t rc = open_checked(&fd, &st, reason, root, relpath, max_file_bytes, err);
    if (rc != MNEMO_OK)
        return rc;
    int r = read_all(fd, max_file_bytes, (uint64_t)st.st_size, &buf, &n);
    close(fd);
    if (r == READ_TOO_LARGE)
        return skip_file(reason, "too large", relpath, err);
    if (r != 0)
        return io_error(r, "read", relpath, err);
    /* What is indexed travels as protobuf strings: UTF-8, and no NUL
     * (protobuf-c would cut the string there). */
    const char *problem = memchr(buf, '\0', n) != NULL ? "binary"
                          : !mnemo_utf8_valid(buf, n)  ? "not valid UTF-8"
                                                       : NULL;
    if (problem != NULL) {
        free(buf);
        return skip_file(reason, problem, relpath, err);
    }
    *data = buf;
    *len = n;
    *size = (uint64_t)st.st_size;
    *mtime_ns = mtime_ns_of(&st);
    return MNEMO_OK;
}
