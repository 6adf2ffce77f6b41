/*
 * spool.c - the event log's write-ahead spool: an append-only file of data
 * and ack records, with an in-memory index of what is still pending.
 *
 * The index is an array of (seq, offset, length, live) sorted by seq, since
 * seqs only grow in file order; lookups are binary searches. Payloads are not
 * kept in memory: a resend reads them back with pread. See spool.h for the
 * record layout and the rules for truncation and compaction.
 */
#define _GNU_SOURCE
#include "spool.h"

#include "log.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define S_MAGIC       0x3153594cu /* "LYS1" as little-endian bytes */
#define S_HEADER_SIZE 36
#define S_TYPE_DATA   1
#define S_TYPE_ACK    2
/* Compaction runs on its own once dead bytes reach the live ones and this. */
#define S_COMPACT_MIN (1u << 20)
/* Dead index entries are swept once there are this many and more than live ones. */
#define S_SWEEP_MIN 64

typedef struct {
    uint64_t seq;
    uint64_t off;
    uint64_t len;
    bool live;
} s_entry_t;

/* A record header, decoded. */
typedef struct {
    uint8_t type;
    uint8_t topic_len;
    uint32_t key_len;
    uint32_t payload_len;
    uint64_t seq;
    int64_t timestamp_ms;
} s_header_t;

struct lyc_spool {
    char *path;     /* <dir>/spool.log */
    char *tmp_path; /* <dir>/spool.tmp, the compaction target */
    char *dir;
    int fd;      /* spool.log, read-write */
    int lock_fd; /* spool.lock, holds the flock */
    bool sync;
    uint64_t max_bytes;
    uint64_t size;       /* bytes in the file */
    uint64_t live_bytes; /* bytes of pending data records */
    uint64_t next_seq;
    s_entry_t *entries;
    size_t count; /* entries in use, live or not */
    size_t cap;
    size_t pending;     /* live entries */
    unsigned char *buf; /* scratch for encoding and reading records */
    size_t buf_cap;
};

/* --- encoding ---------------------------------------------------------- */

static void s_put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char) (v >> (8 * i));
}

static void s_put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char) (v >> (8 * i));
}

static uint32_t s_get32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t s_get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

size_t lyc_spool_record_size(size_t topic_len, size_t key_len, size_t payload_len)
{
    return S_HEADER_SIZE + topic_len + key_len + payload_len;
}

/* Writes a header for h into p[S_HEADER_SIZE], check field left zero. */
static void s_header_encode(unsigned char *p, const s_header_t *h)
{
    s_put32(p, S_MAGIC);
    s_put32(p + 4, 0);
    p[8] = h->type;
    p[9] = h->topic_len;
    p[10] = 0;
    p[11] = 0;
    s_put32(p + 12, h->key_len);
    s_put32(p + 16, h->payload_len);
    s_put64(p + 20, h->seq);
    s_put64(p + 28, (uint64_t) h->timestamp_ms);
}

/* Seals a complete record of len bytes at p: fills in its check. */
static void s_seal(unsigned char *p, size_t len)
{
    s_put32(p + 4, XXH32(p + 8, len - 8, 0));
}

/* Decodes and verifies the record at p, of which avail bytes are readable.
 * Returns its length, or 0 when it is torn, corrupt or not a record. */
static uint64_t s_parse(const unsigned char *p, uint64_t avail, s_header_t *h)
{
    if (avail < S_HEADER_SIZE || s_get32(p) != S_MAGIC || p[10] != 0 || p[11] != 0)
        return 0;
    h->type = p[8];
    h->topic_len = p[9];
    h->key_len = s_get32(p + 12);
    h->payload_len = s_get32(p + 16);
    h->seq = s_get64(p + 20);
    h->timestamp_ms = (int64_t) s_get64(p + 28);
    uint64_t body = (uint64_t) h->topic_len + h->key_len + h->payload_len;
    if (h->type == S_TYPE_ACK && body != 0)
        return 0;
    if (h->type != S_TYPE_ACK && (h->type != S_TYPE_DATA || h->topic_len == 0))
        return 0;
    if (h->seq == 0 || body > avail - S_HEADER_SIZE)
        return 0;
    uint64_t len = S_HEADER_SIZE + body;
    if (s_get32(p + 4) != XXH32(p + 8, len - 8, 0))
        return 0;
    return len;
}

/* --- index ------------------------------------------------------------- */

/* Index of the first entry with seq >= seq (count when there is none). */
static size_t s_lower_bound(const lyc_spool_t *self, uint64_t seq)
{
    size_t lo = 0, hi = self->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (self->entries[mid].seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The live entry for seq, or NULL. */
static s_entry_t *s_find_live(const lyc_spool_t *self, uint64_t seq)
{
    size_t i = s_lower_bound(self, seq);
    if (i < self->count && self->entries[i].seq == seq && self->entries[i].live)
        return &self->entries[i];
    return NULL;
}

/* Makes room for one more entry. */
static int s_reserve(lyc_spool_t *self)
{
    if (self->count < self->cap)
        return 0;
    size_t cap = self->cap ? self->cap * 2 : 256;
    s_entry_t *grown = realloc(self->entries, cap * sizeof *grown);
    if (!grown) {
        LYC_ERROR(NULL, "spool %s: out of memory for the index", self->path);
        return -1;
    }
    self->entries = grown;
    self->cap = cap;
    return 0;
}

/* Makes the scratch buffer at least len bytes. */
static int s_buf_reserve(lyc_spool_t *self, size_t len)
{
    if (len <= self->buf_cap)
        return 0;
    unsigned char *grown = realloc(self->buf, len);
    if (!grown) {
        LYC_ERROR(NULL, "spool %s: out of memory for a record of %zu bytes", self->path, len);
        return -1;
    }
    self->buf = grown;
    self->buf_cap = len;
    return 0;
}

/* Drops dead entries from the index once they are the majority. */
static void s_sweep(lyc_spool_t *self, bool always)
{
    size_t dead = self->count - self->pending;
    if (!always && (dead < S_SWEEP_MIN || dead <= self->pending))
        return;
    size_t kept = 0;
    for (size_t i = 0; i < self->count; i++) {
        if (self->entries[i].live)
            self->entries[kept++] = self->entries[i];
    }
    self->count = kept;
}

/* --- file helpers ------------------------------------------------------ */

static int s_pwrite_all(int fd, const void *data, size_t len, uint64_t off)
{
    const unsigned char *p = data;
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, (off_t) off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t) n;
        off += (uint64_t) n;
    }
    return 0;
}

static int s_pread_all(int fd, void *data, size_t len, uint64_t off)
{
    unsigned char *p = data;
    while (len > 0) {
        ssize_t n = pread(fd, p, len, (off_t) off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO; /* the file is shorter than the index says */
            return -1;
        }
        p += n;
        len -= (size_t) n;
        off += (uint64_t) n;
    }
    return 0;
}

/* Makes a rename in dir durable. */
static int s_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* Empties the file once nothing in it is pending. A failure only costs disk
 * space: the ack records already say everything is done. */
static void s_truncate_all(lyc_spool_t *self)
{
    if (ftruncate(self->fd, 0) != 0) {
        LYC_WARN(NULL, "spool %s: cannot truncate: %s", self->path, strerror(errno));
        return;
    }
    self->size = 0;
    self->count = 0;
}

/* --- compaction -------------------------------------------------------- */

/* Copies every live record into the open file tmp_fd, from offset 0. */
static int s_copy_live(lyc_spool_t *self, int tmp_fd)
{
    uint64_t off = 0;
    for (size_t i = 0; i < self->count; i++) {
        const s_entry_t *e = &self->entries[i];
        if (!e->live)
            continue;
        if (s_buf_reserve(self, e->len) != 0)
            return -1;
        if (s_pread_all(self->fd, self->buf, e->len, e->off) != 0 ||
            s_pwrite_all(tmp_fd, self->buf, e->len, off) != 0) {
            LYC_ERROR(NULL, "spool %s: compaction copy failed: %s", self->path, strerror(errno));
            return -1;
        }
        off += e->len;
    }
    return 0;
}

/* Points the index at the compacted file: live entries, packed in order. */
static void s_repack_index(lyc_spool_t *self)
{
    s_sweep(self, true);
    uint64_t off = 0;
    for (size_t i = 0; i < self->count; i++) {
        self->entries[i].off = off;
        off += self->entries[i].len;
    }
    self->size = off;
}

int lyc_spool_compact(lyc_spool_t *self)
{
    assert(self); /* a NULL here is a bug in the caller */
    if (self->pending == 0) {
        s_truncate_all(self);
        return 0;
    }
    int tmp_fd = open(self->tmp_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (tmp_fd < 0) {
        LYC_ERROR(NULL, "spool %s: cannot create %s: %s", self->path, self->tmp_path,
                  strerror(errno));
        return -1;
    }
    if (s_copy_live(self, tmp_fd) != 0)
        goto out_remove_tmp;
    if (fdatasync(tmp_fd) != 0 || rename(self->tmp_path, self->path) != 0) {
        LYC_ERROR(NULL, "spool %s: cannot install the compacted file: %s", self->path,
                  strerror(errno));
        goto out_remove_tmp;
    }
    if (s_sync_dir(self->dir) != 0)
        LYC_WARN(NULL, "spool %s: cannot sync directory: %s", self->dir, strerror(errno));
    uint64_t before = self->size;
    close(self->fd);
    self->fd = tmp_fd;
    s_repack_index(self);
    LYC_DEBUG(NULL, "spool %s: compacted %" PRIu64 " -> %" PRIu64 " bytes", self->path, before,
              self->size);
    return 0;

out_remove_tmp:
    close(tmp_fd);
    unlink(self->tmp_path);
    return -1;
}

/* Whether dead bytes are worth a rewrite: they outweigh the live ones and are
 * not trivial, so each compaction frees at least as much as it copies. */
static bool s_compaction_pays(const lyc_spool_t *self)
{
    uint64_t dead = self->size - self->live_bytes;
    uint64_t floor = self->max_bytes / 2 < S_COMPACT_MIN ? self->max_bytes / 2 : S_COMPACT_MIN;
    return dead >= self->live_bytes && dead >= floor;
}

/* --- loading ----------------------------------------------------------- */

/* Applies one valid record found at off while loading. Returns 0, or 1 when
 * the record does not fit the file's order (treated like corruption), or -1
 * when out of memory. */
static int s_load_record(lyc_spool_t *self, const s_header_t *h, uint64_t off, uint64_t len)
{
    if (h->type == S_TYPE_ACK) {
        s_entry_t *e = s_find_live(self, h->seq);
        if (e) {
            e->live = false;
            self->pending--;
            self->live_bytes -= e->len;
        }
        return 0;
    }
    if (h->seq < self->next_seq)
        return 1;
    if (s_reserve(self) != 0)
        return -1;
    self->entries[self->count++] = (s_entry_t){h->seq, off, len, true};
    self->pending++;
    self->live_bytes += len;
    self->next_seq = h->seq + 1;
    return 0;
}

/* Offset of the next magic after off, where a resync may find a record;
 * size when there is none. */
static uint64_t s_resync(const unsigned char *map, uint64_t size, uint64_t off)
{
    unsigned char magic[4];
    s_put32(magic, S_MAGIC);
    const unsigned char *hit = memmem(map + off + 1, size - off - 1, magic, sizeof magic);
    return hit ? (uint64_t) (hit - map) : size;
}

/* Walks the mapped file, indexing data records and applying acks. Bad bytes
 * are skipped up to the next record that verifies; *damaged reports them. */
static int s_scan(lyc_spool_t *self, const unsigned char *map, uint64_t size, bool *damaged)
{
    uint64_t off = 0;
    while (off < size) {
        s_header_t h;
        uint64_t len = s_parse(map + off, size - off, &h);
        int rc = len ? s_load_record(self, &h, off, len) : 1;
        if (rc < 0)
            return -1;
        if (rc == 0) {
            off += len;
            continue;
        }
        uint64_t next = s_resync(map, size, off);
        LYC_WARN(NULL, "spool %s: skipping %" PRIu64 " bytes of %s record at offset %" PRIu64,
                 self->path, next - off, next == size ? "torn or corrupt tail" : "corrupt", off);
        *damaged = true;
        off = next;
    }
    return 0;
}

/* Reads the whole file into the index; rewrites it when it was damaged. */
static int s_load(lyc_spool_t *self)
{
    struct stat st;
    if (fstat(self->fd, &st) != 0) {
        LYC_ERROR(NULL, "spool %s: cannot stat: %s", self->path, strerror(errno));
        return -1;
    }
    self->size = (uint64_t) st.st_size;
    self->next_seq = 1;
    if (self->size == 0)
        return 0;
    void *map = mmap(NULL, (size_t) self->size, PROT_READ, MAP_PRIVATE, self->fd, 0);
    if (map == MAP_FAILED) {
        LYC_ERROR(NULL, "spool %s: cannot map: %s", self->path, strerror(errno));
        return -1;
    }
    bool damaged = false;
    int rc = s_scan(self, map, self->size, &damaged);
    munmap(map, (size_t) self->size);
    if (rc != 0)
        return -1;
    /* A failed rewrite is not fatal: the bad bytes count as dead, and records
     * appended after them are found again by the resync on the next open. */
    if ((damaged || self->pending == 0) && lyc_spool_compact(self) != 0)
        LYC_WARN(NULL, "spool %s: keeping the damaged file as it is", self->path);
    return 0;
}

/* --- life cycle -------------------------------------------------------- */

/* "<dir>/<name>" in a new string, or NULL when out of memory. */
static char *s_path(const char *dir, const char *name)
{
    size_t len = strlen(dir) + 1 + strlen(name) + 1;
    char *path = malloc(len);
    if (path)
        snprintf(path, len, "%s/%s", dir, name);
    return path;
}

/* Takes the spool's lock file so no second producer shares the directory. */
static int s_lock(lyc_spool_t *self)
{
    char *lock_path = s_path(self->dir, "spool.lock");
    if (!lock_path) {
        LYC_ERROR(NULL, "spool %s: out of memory", self->dir);
        return -1;
    }
    self->lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (self->lock_fd < 0) {
        LYC_ERROR(NULL, "spool: cannot open %s: %s", lock_path, strerror(errno));
        goto out_free_path;
    }
    if (flock(self->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        LYC_ERROR(NULL, "spool: %s is in use by another producer (%s)", self->dir, strerror(errno));
        goto out_free_path;
    }
    free(lock_path);
    return 0;

out_free_path:
    free(lock_path);
    return -1;
}

/* Allocates the paths and opens the directory, lock and file. */
static int s_open(lyc_spool_t *self, const char *dir)
{
    self->dir = strdup(dir);
    self->path = s_path(dir, "spool.log");
    self->tmp_path = s_path(dir, "spool.tmp");
    if (!self->dir || !self->path || !self->tmp_path) {
        LYC_ERROR(NULL, "spool %s: out of memory", dir);
        return -1;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        LYC_ERROR(NULL, "spool: cannot create directory %s: %s", dir, strerror(errno));
        return -1;
    }
    if (s_lock(self) != 0)
        return -1;
    self->fd = open(self->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (self->fd < 0) {
        LYC_ERROR(NULL, "spool: cannot open %s: %s", self->path, strerror(errno));
        return -1;
    }
    return 0;
}

lyc_spool_t *lyc_spool_new(const char *dir, size_t max_bytes, bool sync)
{
    if (!dir || !*dir || max_bytes < lyc_spool_record_size(1, 0, 0)) {
        LYC_ERROR(NULL, "spool: needs a directory and max_bytes >= %zu",
                  lyc_spool_record_size(1, 0, 0));
        return NULL;
    }
    lyc_spool_t *self = calloc(1, sizeof *self);
    if (!self) {
        LYC_ERROR(NULL, "spool %s: out of memory", dir);
        return NULL;
    }
    self->fd = -1;
    self->lock_fd = -1;
    self->sync = sync;
    self->max_bytes = max_bytes;
    if (s_open(self, dir) != 0 || s_load(self) != 0)
        goto out_destroy;
    if (self->size > self->max_bytes)
        LYC_WARN(NULL,
                 "spool %s: holds %" PRIu64 " bytes, over its bound of %" PRIu64
                 "; appends wait until it drains",
                 self->path, self->size, self->max_bytes);
    LYC_INFO(NULL, "spool %s: opened with %zu pending records (%" PRIu64 " bytes)", self->path,
             self->pending, self->size);
    return self;

out_destroy:
    lyc_spool_destroy(&self);
    return NULL;
}

void lyc_spool_destroy(lyc_spool_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lyc_spool_t *self = *self_p;
    if (self->fd >= 0)
        close(self->fd);
    if (self->lock_fd >= 0)
        close(self->lock_fd); /* releases the flock */
    free(self->entries);
    free(self->buf);
    free(self->path);
    free(self->tmp_path);
    free(self->dir);
    free(self);
    *self_p = NULL;
}

/* --- records ----------------------------------------------------------- */

static int s_append_check(const lyc_spool_t *self, const char *topic, const void *key,
                          size_t key_len, const void *payload, size_t payload_len)
{
    size_t topic_len = topic ? strlen(topic) : 0;
    if (topic_len == 0 || topic_len > LYC_SPOOL_TOPIC_MAX) {
        LYC_ERROR(NULL, "spool %s: a record needs a topic of 1 to %d bytes, not %zu", self->path,
                  LYC_SPOOL_TOPIC_MAX, topic_len);
        return -1;
    }
    if ((!key && key_len) || (!payload && payload_len) || key_len > UINT32_MAX ||
        payload_len > UINT32_MAX) {
        LYC_ERROR(NULL, "spool %s: bad key (%zu bytes) or payload (%zu bytes)", self->path, key_len,
                  payload_len);
        return -1;
    }
    return 0;
}

/* Makes room for need bytes under the bound, compacting when that frees
 * enough to be worth it. */
static int s_make_room(lyc_spool_t *self, uint64_t need)
{
    if (self->size + need <= self->max_bytes)
        return 0;
    if (need > self->max_bytes) {
        LYC_WARN(NULL, "spool %s: a record of %" PRIu64 " bytes can never fit in %" PRIu64,
                 self->path, need, self->max_bytes);
        return -1;
    }
    uint64_t dead = self->size - self->live_bytes;
    uint64_t worth = need > self->max_bytes / 16 ? need : self->max_bytes / 16;
    if (self->live_bytes + need <= self->max_bytes && dead >= worth &&
        lyc_spool_compact(self) == 0 && self->size + need <= self->max_bytes)
        return 0;
    /* Full is back-pressure, not a fault: the caller decides how loudly to say it. */
    LYC_DEBUG(NULL, "spool %s: full (%" PRIu64 " of %" PRIu64 " bytes, %zu pending)", self->path,
              self->size, self->max_bytes, self->pending);
    return -1;
}

/* Writes the encoded record in the scratch buffer at the end of the file
 * (and syncs it); cuts the file back on failure. */
static int s_write_tail(lyc_spool_t *self, size_t len)
{
    if (s_pwrite_all(self->fd, self->buf, len, self->size) == 0 &&
        (!self->sync || fdatasync(self->fd) == 0))
        return 0;
    LYC_ERROR(NULL, "spool %s: write of %zu bytes failed: %s", self->path, len, strerror(errno));
    if (ftruncate(self->fd, (off_t) self->size) != 0)
        LYC_ERROR(NULL, "spool %s: cannot cut back a failed write: %s", self->path,
                  strerror(errno));
    return -1;
}

int lyc_spool_append(lyc_spool_t *self, const char *topic, const void *key, size_t key_len,
                     const void *payload, size_t payload_len, int64_t timestamp_ms,
                     uint64_t *seq_out)
{
    assert(self && seq_out);
    if (s_append_check(self, topic, key, key_len, payload, payload_len) != 0)
        return -1;
    size_t topic_len = strlen(topic);
    size_t len = lyc_spool_record_size(topic_len, key_len, payload_len);
    if (s_make_room(self, len) != 0 || s_reserve(self) != 0 || s_buf_reserve(self, len) != 0)
        return -1;
    s_header_t h = {S_TYPE_DATA,    (uint8_t) topic_len, (uint32_t) key_len, (uint32_t) payload_len,
                    self->next_seq, timestamp_ms};
    s_header_encode(self->buf, &h);
    memcpy(self->buf + S_HEADER_SIZE, topic, topic_len);
    if (key_len)
        memcpy(self->buf + S_HEADER_SIZE + topic_len, key, key_len);
    if (payload_len)
        memcpy(self->buf + S_HEADER_SIZE + topic_len + key_len, payload, payload_len);
    s_seal(self->buf, len);
    if (s_write_tail(self, len) != 0)
        return -1;
    self->entries[self->count++] = (s_entry_t){self->next_seq, self->size, len, true};
    self->size += len;
    self->live_bytes += len;
    self->pending++;
    *seq_out = self->next_seq++;
    return 0;
}

/* Records the ack on disk, or rewrites the file without the record when that
 * is due anyway or the bound leaves no room for an ack record. */
static void s_persist_ack(lyc_spool_t *self, uint64_t seq)
{
    if (self->pending == 0) {
        s_truncate_all(self);
        return;
    }
    if ((s_compaction_pays(self) || self->size + S_HEADER_SIZE > self->max_bytes) &&
        lyc_spool_compact(self) == 0)
        return;
    unsigned char rec[S_HEADER_SIZE];
    s_header_t h = {S_TYPE_ACK, 0, 0, 0, seq, 0};
    s_header_encode(rec, &h);
    s_seal(rec, sizeof rec);
    if (s_pwrite_all(self->fd, rec, sizeof rec, self->size) != 0) {
        LYC_WARN(NULL,
                 "spool %s: cannot write ack of %" PRIu64 " (%s); it will be resent after "
                 "a restart",
                 self->path, seq, strerror(errno));
        if (ftruncate(self->fd, (off_t) self->size) != 0)
            LYC_ERROR(NULL, "spool %s: cannot cut back a failed ack: %s", self->path,
                      strerror(errno));
        return;
    }
    self->size += sizeof rec;
}

int lyc_spool_ack(lyc_spool_t *self, uint64_t seq)
{
    assert(self); /* a NULL here is a bug in the caller */
    s_entry_t *e = s_find_live(self, seq);
    if (!e)
        return -1;
    e->live = false;
    self->pending--;
    self->live_bytes -= e->len;
    s_persist_ack(self, seq);
    s_sweep(self, false);
    return 0;
}

int lyc_spool_read(lyc_spool_t *self, uint64_t seq, lyc_spool_record_t *out)
{
    assert(self); /* a NULL here is a bug in the caller */
    const s_entry_t *e = s_find_live(self, seq);
    if (!e || s_buf_reserve(self, e->len + LYC_SPOOL_TOPIC_MAX + 1) != 0)
        return -1;
    if (s_pread_all(self->fd, self->buf, e->len, e->off) != 0) {
        LYC_ERROR(NULL, "spool %s: cannot read record %" PRIu64 ": %s", self->path, seq,
                  strerror(errno));
        return -1;
    }
    s_header_t h;
    if (s_parse(self->buf, e->len, &h) != e->len || h.seq != seq || h.type != S_TYPE_DATA) {
        LYC_ERROR(NULL, "spool %s: record %" PRIu64 " at offset %" PRIu64 " fails its check",
                  self->path, seq, e->off);
        return -1;
    }
    /* A NUL-terminated copy of the topic goes just past the record. */
    char *topic = (char *) self->buf + e->len;
    memcpy(topic, self->buf + S_HEADER_SIZE, h.topic_len);
    topic[h.topic_len] = '\0';
    *out = (lyc_spool_record_t){
        .seq = seq,
        .timestamp_ms = h.timestamp_ms,
        .topic = topic,
        .key = h.key_len ? self->buf + S_HEADER_SIZE + h.topic_len : NULL,
        .key_len = h.key_len,
        .payload = h.payload_len ? self->buf + S_HEADER_SIZE + h.topic_len + h.key_len : NULL,
        .payload_len = h.payload_len,
    };
    return 0;
}

uint64_t lyc_spool_next(const lyc_spool_t *self, uint64_t after)
{
    assert(self); /* a NULL here is a bug in the caller */
    for (size_t i = s_lower_bound(self, after + 1); i < self->count; i++) {
        if (self->entries[i].live)
            return self->entries[i].seq;
    }
    return 0;
}

size_t lyc_spool_pending(const lyc_spool_t *self)
{
    assert(self); /* a NULL here is a bug in the caller */
    return self->pending;
}

uint64_t lyc_spool_bytes(const lyc_spool_t *self)
{
    assert(self); /* a NULL here is a bug in the caller */
    return self->size;
}
