/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "capture.h"
#include "fs-util.h"
#include "log.h"
#include "parse-value.h"
#include "state.h"

int state_lock(const char *name, int *ret_fd) {
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = agent_state_path(name, NULL, &dir);
        if (r < 0)
                return r;
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return negative_errno();
        if (flock(fd, LOCK_EX) < 0)
                return negative_errno();
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* Reads ROOT/NAME/ENTRY, at most max bytes; larger is -EBADMSG (not ours). */
static int read_entry(const char *name, const char *entry, size_t max, char **ret, size_t *ret_len) {
        _cleanup_free_ char *path = NULL;
        int r;

        r = agent_state_path(name, entry, &path);
        if (r < 0)
                return r;
        r = ctl_read_file(path, max, ret, ret_len);
        return r == -EFBIG ? -EBADMSG : r;
}

int state_egress_read(const char *name, EgressCounters *ret) {
        static const char *const keys[] = { "allowed=", "denied=", "bytes_up=", "bytes_down=" };
        _cleanup_free_ char *path = NULL, *text = NULL;
        uint64_t v[ELEMENTSOF(keys)];
        unsigned seen = 0;
        char *line, *save = NULL;
        int r;

        if (!agent_name_is_valid(name))
                return -EINVAL;
        if (asprintf(&path, "%s/%s/%s.stats", agent_state_root(), AGENT_STATE_EGRESS_DIR, name) < 0)
                return -ENOMEM;
        r = ctl_read_file(path, 1024, &text, NULL);
        if (r < 0)
                return r == -EFBIG ? -EBADMSG : r;
        for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                if (strncmp(line, "agent=", 6) == 0) {
                        if (!streq(line + 6, name))
                                return -EBADMSG;
                        continue;
                }
                for (size_t k = 0; k < ELEMENTSOF(keys); k++)
                        if (strncmp(line, keys[k], strlen(keys[k])) == 0) {
                                if (parse_uint64_range(line + strlen(keys[k]), 0, UINT64_MAX, &v[k]) < 0)
                                        return -EBADMSG;
                                seen |= 1U << k;
                        }
        }
        if (seen != (1U << ELEMENTSOF(keys)) - 1)
                return -EBADMSG;
        *ret = (EgressCounters) { v[0], v[1], v[2], v[3] };
        return 0;
}

int state_assignment_read(const char *name, Assignment *ret) {
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r = read_entry(name, AGENT_STATE_ASSIGNMENT, ASSIGNMENT_FILE_MAX, &text, &len);

        return r < 0 ? r : assignment_parse(text, len, ret);
}

int state_assignment_write(int dir_fd, const Assignment *a) {
        _cleanup_free_ char *text = NULL;
        _cleanup_close_ int fd = -EBADF;
        char tmp[64];
        int r;

        r = assignment_format(a, &text);
        if (r < 0)
                return r;
        (void) snprintf(tmp, sizeof tmp, ".%s.%ld.tmp", AGENT_STATE_ASSIGNMENT, (long) getpid());
        (void) unlinkat(dir_fd, tmp, 0);
        fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return negative_errno();
        r = write_all(fd, text, strlen(text));
        if (r >= 0 && (fsync(fd) < 0 || renameat(dir_fd, tmp, dir_fd, AGENT_STATE_ASSIGNMENT) < 0))
                r = negative_errno();
        if (r < 0)
                (void) unlinkat(dir_fd, tmp, 0);
        return r;
}

int state_info_read(const char *name, AgentStateInfo *ret) {
        _cleanup_free_ char *text = NULL;
        size_t len;
        int r = read_entry(name, AGENT_STATE_INFO, AGENT_STATE_INFO_MAX, &text, &len);

        return r < 0 ? r : agent_state_info_parse(text, len, ret);
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int state_list_names(char ***ret, size_t *ret_n) {
        _cleanup_strv_free_ char **names = NULL;
        DIR *d;
        struct dirent *de;
        size_t n = 0;
        int r = 0;

        names = calloc(1, sizeof(char *));
        if (!names)
                return -ENOMEM;
        d = opendir(agent_state_root());
        if (!d) {
                if (errno != ENOENT)
                        return negative_errno();
                *ret = TAKE_PTR(names);
                *ret_n = 0;
                return 0;
        }
        while ((de = readdir(d))) {
                struct stat st;
                char **grown;

                /* Only real directories: a symlink could name any place. */
                if (!agent_name_is_valid(de->d_name) ||
                    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
                        continue;
                grown = reallocarray(names, n + 2, sizeof(char *));
                if (!grown || !(grown[n] = strdup(de->d_name))) {
                        if (grown)
                                names = grown;
                        r = -ENOMEM;
                        break;
                }
                names = grown;
                names[++n] = NULL;
        }
        (void) closedir(d);
        if (r < 0)
                return r;
        qsort(names, n, sizeof(char *), cmp_str);
        *ret = TAKE_PTR(names);
        *ret_n = n;
        return 0;
}

int state_orphan_timeout(const char *name, const AgentSource *s, uint64_t *ret_usec, TimeoutSource *ret_from) {
        _cleanup_(agent_state_info_done) AgentStateInfo info = {};
        _cleanup_agent_free_ Agent *a = NULL;
        int r;

        r = state_info_read(name, &info);
        if (r >= 0) {
                *ret_usec = info.orphan_timeout_usec;
                *ret_from = TIMEOUT_FROM_STATE;
                return 0;
        }
        if (r != -ENOENT)
                return r;

        /* Started by a version that wrote no agent.state. */
        r = s ? definition_load_quiet(s, &a) : -ENOENT;
        if (r == -ENOMEM)
                return r;
        if (r != 0) {
                log_debug("%s has no %s and no valid definition: its orphan timeout is unknown.", name,
                          AGENT_STATE_INFO);
                *ret_usec = 0;
                *ret_from = TIMEOUT_UNKNOWN;
                return 0;
        }
        log_debug("%s has no %s (started by an older version): OrphanTimeoutSec= from %s.", name,
                  AGENT_STATE_INFO, s->main_path);
        *ret_usec = a->orphan_timeout_usec;
        *ret_from = TIMEOUT_FROM_DEFINITION;
        return 0;
}
