/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Runs a command and prints "WALL_NS MAXRSS_KIB CPU_NS" for it (wait4's
 * rusage; CPU is user plus system time), so
 * the benchmark measures exactly one process, not a shell around it.
 *
 *   bench-timeit COMMAND [ARG…] */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char *argv[]) {
        struct timespec a, b;
        struct rusage ru;
        int status;
        pid_t pid;

        if (argc < 2)
                return 2;
        clock_gettime(CLOCK_MONOTONIC, &a);
        pid = fork();
        if (pid < 0)
                return 1;
        if (pid == 0) {
                execv(argv[1], argv + 1);
                _exit(127);
        }
        if (wait4(pid, &status, 0, &ru) < 0)
                return 1;
        clock_gettime(CLOCK_MONOTONIC, &b);
        printf("%lld %ld %lld\n", (long long) (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec),
               ru.ru_maxrss,
               (long long) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
                       (long long) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
