/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "egress-proxy.h"
#include "log.h"
#include "macro.h"

EgressAgent *egress_agent_ref(EgressAgent *a) {
        __atomic_add_fetch(&a->refs, 1, __ATOMIC_RELAXED);
        return a;
}

void egress_agent_unref(EgressAgent *a) {
        if (!a || __atomic_sub_fetch(&a->refs, 1, __ATOMIC_ACQ_REL) > 0)
                return;
        pthread_mutex_destroy(&a->lock);
        free(a->policy);
        free(a);
}

static bool same_file(const struct stat *x, const struct stat *y) {
        return x->st_dev == y->st_dev && x->st_ino == y->st_ino && x->st_size == y->st_size &&
               x->st_mtim.tv_sec == y->st_mtim.tv_sec && x->st_mtim.tv_nsec == y->st_mtim.tv_nsec;
}

/* Called with the lock held. A file that vanished or does not parse leaves
 * no policy: every request is denied until a good file appears. */
static void reload_policy(EgressAgent *a, const struct stat *st) {
        _cleanup_free_ EgressPolicy *p = malloc(sizeof *p);
        char why[256];

        a->policy_st = *st;
        a->policy_checked = true;
        free(a->policy);
        a->policy = NULL;
        if (!p) {
                snprintf(a->policy_error, sizeof a->policy_error, "out of memory");
                return;
        }
        if (egress_policy_load(a->policy_path, p, why, sizeof why) < 0) {
                snprintf(a->policy_error, sizeof a->policy_error, "%s", why);
                log_warning("Agent %s: egress policy %s refused: %s; denying everything.", a->name, a->policy_path, why);
                return;
        }
        log_info("Agent %s: egress policy %s loaded (%zu allowed, %zu denied patterns, methods %s).", a->name,
                 a->policy_path, p->n_allow, p->n_deny, egress_methods_to_string(p->methods));
        a->policy = TAKE_PTR(p);
}

int egress_agent_policy(EgressAgent *a, EgressPolicy *ret, char *why, size_t why_size) {
        struct stat st;
        int r = 0;

        pthread_mutex_lock(&a->lock);
        if (stat(a->policy_path, &st) < 0) {
                if (a->policy)
                        log_info("Agent %s: egress policy %s is gone; denying everything.", a->name, a->policy_path);
                free(a->policy);
                a->policy = NULL;
                a->policy_checked = false;
                snprintf(a->policy_error, sizeof a->policy_error, "%.200s: %m", a->policy_path);
        } else if (!a->policy_checked || !same_file(&st, &a->policy_st))
                reload_policy(a, &st);
        if (a->policy)
                *ret = *a->policy;
        else {
                (void) snprintf(why, why_size, "%s", a->policy_error);
                r = -ENOENT;
        }
        pthread_mutex_unlock(&a->lock);
        return r;
}

static void write_state(EgressAgent *a) {
        char tmp[4200], text[512];
        int n = snprintf(text, sizeof text,
                         "agent=%s\nallowed=%" PRIu64 "\ndenied=%" PRIu64 "\nbytes_up=%" PRIu64 "\nbytes_down=%" PRIu64 "\n",
                         a->name, a->n_allowed, a->n_denied, a->bytes_up, a->bytes_down);

        (void) snprintf(tmp, sizeof tmp, "%.4090s.tmp", a->state_path);
        _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0 || write(fd, text, (size_t) n) != n || rename(tmp, a->state_path) < 0) {
                log_debug("Agent %s: cannot write %s: %m", a->name, a->state_path);
                (void) unlink(tmp);
        }
}

void egress_agent_account(EgressAgent *a, const EgressDecision *d) {
        pthread_mutex_lock(&a->lock);
        if (d->allowed)
                a->n_allowed++;
        else
                a->n_denied++;
        a->bytes_up += d->bytes_up;
        a->bytes_down += d->bytes_down;
        a->state_written = false;
        pthread_mutex_unlock(&a->lock);
}

void egress_agent_flush_state(EgressAgent *a) {
        pthread_mutex_lock(&a->lock);
        if (!a->state_written) {
                write_state(a);
                a->state_written = true;
        }
        pthread_mutex_unlock(&a->lock);
}
