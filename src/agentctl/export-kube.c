/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The agent as a Kubernetes Pod that meets the "restricted" Pod Security
 * Standard, plus the NetworkPolicy that stands for Network=. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "agent-limits.h"
#include "egress-policy.h"
#include "export.h"
#include "macro.h"

#define USEC_PER_SEC UINT64_C(1000000)

/* For every key of the definition schema: where the Pod carries it, and
 * what Kubernetes cannot express. tests/export checks that every key of the
 * schema table has a row here, so a new key cannot be dropped silently. */
static const struct {
        const char *section, *key;
        const char *mapped;
        const char *lost;
} kube_keys[] = {
        { "Agent", "Image", "spec.containers[0].image (Image= or --image)", NULL },
        { "Agent", "ImageDigest", NULL,
          "ImageDigest= is agentcage's digest of the image tree, not an OCI manifest digest: pin the pushed image by its registry digest (image@sha256:...) yourself" },
        { "Agent", "Exec", "spec.containers[0].command and args", NULL },
        { "Agent", "Description", "metadata.annotations[agentcage.io/description]", NULL },
        { "Agent", "Environment", "spec.containers[0].env", NULL },
        { "Agent", "WorkingDirectory", "spec.containers[0].workingDir", NULL },
        { "Agent", "User", "runAsUser, runAsGroup and fsGroup (pod and container securityContext)",
          "User=: hostUsers: false gives a user namespace, but the kubelet picks the host range; agentcage's own range per agent is not expressible" },
        { "Agent", "ImageAllow", NULL,
          "ImageAllow=: the approved-image policy (no shell, network tool, package manager, compiler; interpreters only where allowed) is checked by agentcage at start; a cluster needs an admission policy or an image scanner for it" },
        { "Agent", "Autostart", NULL,
          "Autostart=: a Pod runs when it is applied; starting at boot is the cluster's business (a controller), not the Pod's" },
        { "Lifecycle", "RuntimeMaxSec", "spec.activeDeadlineSeconds",
          "RuntimeMaxSec=: activeDeadlineSeconds counts from the Pod's start across container restarts, and the Pod is not recycled afterwards" },
        { "Lifecycle", "Restart", "spec.restartPolicy", NULL },
        { "Lifecycle", "RestartSec", NULL,
          "RestartSec=: the kubelet's restart back-off (10s doubling to 5min) is fixed" },
        { "Lifecycle", "MaxRestarts", NULL,
          "MaxRestarts=: a Pod has no restart budget; the kubelet restarts forever (with back-off)" },
        { "Lifecycle", "WatchdogSec", NULL,
          "WatchdogSec=: no heartbeat deadline (sd_notify WATCHDOG=1) in Kubernetes" },
        { "Lifecycle", "Notify", NULL,
          "Notify=: no READY=1 notification socket; use a readinessProbe of your own" },
        { "Lifecycle", "HealthCheck", "spec.containers[0].livenessProbe.exec",
          "HealthCheck=: a failed livenessProbe restarts the container in place (its emptyDir volumes survive); agentcage recycles the whole agent with a fresh workspace" },
        { "Lifecycle", "HealthCheckIntervalSec", "livenessProbe.periodSeconds", NULL },
        { "Lifecycle", "HealthCheckRetries", "livenessProbe.failureThreshold", NULL },
        { "Lifecycle", "OrphanTimeoutSec", NULL,
          "OrphanTimeoutSec=: no orphan reaping: Kubernetes knows nothing of task assignments and leases (agentctl assign/reap)" },
        { "Resources", "Memory", "resources.limits.memory (and requests)",
          "Memory=: swap off depends on the node (kubelet memorySwap); memory-backed emptyDir pages (/tmp, /workspace) count toward the same limit" },
        { "Resources", "CPUQuota", "resources.limits.cpu (and requests)", NULL },
        { "Resources", "Tasks", NULL,
          "Tasks=: no per-Pod pids limit in the Pod spec (only the kubelet's node-wide podPidsLimit)" },
        { "Security", "MemoryDenyWriteExecute", "the seccomp profile's W^X rules on mmap() and mprotect()",
          "MemoryDenyWriteExecute=no: the exported profile still carries the W^X rules; a JIT runtime needs them removed from it" },
        { "Security", "Capabilities", "securityContext.capabilities (drop ALL, add only NET_BIND_SERVICE)", NULL },
        { "Security", "SystemCalls", "the Localhost seccompProfile (export it with --format oci-seccomp)", NULL },
        { "Security", "Network", "the NetworkPolicy",
          "Network=: a NetworkPolicy needs a CNI plugin that enforces it; private: agentcage's link reaches only the host, the Pod reaches the cluster network (egress is not restricted)" },
        { "Volumes", "Workspace", "an emptyDir (medium Memory, sizeLimit) at /workspace",
          "Workspace=: no encrypted volatile workspace whose key is destroyed on recycle: the emptyDir is plain RAM (tmpfs), kept across container restarts" },
        { "Volumes", "Tmp", "an emptyDir (medium Memory, sizeLimit) at /tmp",
          "Tmp=: emptyDir has no mount options: /tmp is not noexec, nosuid, nodev as under agentcage" },
        { "Volumes", "SharedState", "a persistentVolumeClaim NAME-shared at /shared (hostPath is forbidden by the restricted standard)",
          "SharedState=: the host directory itself cannot be mounted; create the claim NAME-shared" },
        { "Egress", "Allow", "the NetworkPolicy NAME-egress: TCP to the ports of Allow= on public addresses only, DNS to kube-dns",
          "[Egress] Allow=: a NetworkPolicy matches addresses, never host names: the Pod may reach the ports of Allow= on every public address, not only the named hosts (enforcing the names needs an egress proxy or gateway, or a CNI with FQDN policies); the Pod gets no HTTP(S)_PROXY (it carries no proxy); DNS to kube-dns is allowed because the Pod resolves names itself, and kube-dns forwards any name upstream, a channel agentcage's agent does not have" },
        { "Egress", "Deny", NULL,
          "[Egress] Deny=: not expressible: a NetworkPolicy cannot refuse a host name, so the denied hosts are reachable on the allowed ports" },
        { "Egress", "Methods", NULL,
          "[Egress] Methods=read-only: not expressible: a NetworkPolicy does not see HTTP methods" },
        { "Secrets", "*", "a secret volume (Secret NAME-secrets, one item per secret) at /run/secrets, defaultMode 0400",
          "[Secrets]: with fsGroup (needed for a non-root Pod to read them) the files are root:fsGroup 0440, not 0400 owned by the agent; cred: sources must be copied into the Secret by hand; the Secret itself is not exported (its values never are)" },
};

/* What the floor has beyond its keys. */
static const char *const kube_floor_lost[] = {
        "agent-init as PID 1 (reaping orphaned processes, the seccomp filter installed after the runtime's own, no_new_privs before exec): the container runtime's init does not reap",
        "the seccomp profile and the AppArmor profile agentcage-agent must be installed on every node (kubelet seccomp root, apparmor_parser): the Pod does not carry them",
        "seccomp: the profile lists only the native architecture and the OCI format has no action for a call of another (i386 int 0x80, x32): crun, keeping libseccomp's default, kills the caller with SIGSYS where agentcage's filter refuses it with EPERM (blocked either way; listing SCMP_ARCH_X86 would instead allow the i386 calls of the same names)",
        "the unit's own systemd sandbox around the runtime (ProtectSystem=, the unit's system call filter and capability bounding set): the kubelet and runtime run unconfined by it",
};

bool export_kube_key(const char *section, const char *key, const char **ret_mapped, const char **ret_lost) {
        for (size_t i = 0; i < ELEMENTSOF(kube_keys); i++)
                if (strcasecmp(kube_keys[i].section, section) == 0 && strcasecmp(kube_keys[i].key, key) == 0) {
                        if (ret_mapped)
                                *ret_mapped = kube_keys[i].mapped;
                        if (ret_lost)
                                *ret_lost = kube_keys[i].lost;
                        return true;
                }
        return false;
}

/* Appends what this agent's [Egress] holds for the row of section/key, as
 * " (this agent: KEY=VALUES)"; nothing when it holds nothing there (no
 * [Egress], no Deny=, Methods=all). */
static void egress_values(Buffer *b, const Agent *a, const char *section, const char *key) {
        char *const *v;

        if (!a || !a->egress_allow || !streq(section, "Egress"))
                return;
        if (streq(key, "Methods")) {
                if (a->egress_read_only)
                        buffer_puts(b, " (this agent: Methods=read-only)");
                return;
        }
        v = streq(key, "Allow") ? a->egress_allow : a->egress_deny;
        if (!v || !v[0])
                return;
        buffer_printf(b, " (this agent: %s=", key);
        for (size_t i = 0; v[i]; i++)
                buffer_printf(b, "%s%s", i > 0 ? " " : "", v[i]);
        buffer_puts(b, ")");
}

int export_kube_not_expressed(const Agent *a, Buffer *b) {
        for (size_t i = 0; i < ELEMENTSOF(kube_keys); i++) {
                if (!kube_keys[i].lost)
                        continue;
                buffer_puts(b, kube_keys[i].lost);
                egress_values(b, a, kube_keys[i].section, kube_keys[i].key);
                buffer_puts(b, "\n");
        }
        for (size_t i = 0; i < ELEMENTSOF(kube_floor_lost); i++)
                buffer_printf(b, "%s\n", kube_floor_lost[i]);
        return buffer_status(b);
}

/* ---- building the tree -------------------------------------------------
 * json-c returns NULL when out of memory; the builder notes that once and
 * every later call is a no-op, so the caller checks at the end. */

typedef struct Kb {
        bool oom;
} Kb;

static json_object *kadd(Kb *k, json_object *parent, const char *key, json_object *v) {
        if (!v || !parent) {
                json_object_put(v);
                k->oom = true;
                return NULL;
        }
        if (key ? json_object_object_add(parent, key, v) < 0 : json_object_array_add(parent, v) < 0) {
                json_object_put(v);
                k->oom = true;
                return NULL;
        }
        return v;
}

static json_object *kstr(Kb *k, json_object *parent, const char *key, const char *s) {
        return kadd(k, parent, key, json_object_new_string(s));
}

static json_object *kint(Kb *k, json_object *parent, const char *key, int64_t v) {
        return kadd(k, parent, key, json_object_new_int64(v));
}

static json_object *kbool(Kb *k, json_object *parent, const char *key, bool v) {
        return kadd(k, parent, key, json_object_new_boolean(v));
}

static json_object *kobj(Kb *k, json_object *parent, const char *key) {
        return kadd(k, parent, key, json_object_new_object());
}

static json_object *karr(Kb *k, json_object *parent, const char *key) {
        return kadd(k, parent, key, json_object_new_array());
}

static json_object *kstrv(Kb *k, json_object *parent, const char *key, char *const *v) {
        json_object *arr = karr(k, parent, key);
        for (size_t i = 0; v && v[i]; i++)
                kstr(k, arr, NULL, v[i]);
        return arr;
}

/* A Kubernetes quantity for a byte count: Ki/Mi/Gi/Ti when exact. */
static void quantity_bytes(char *buf, size_t size, uint64_t bytes) {
        static const char *const units[] = { "Ti", "Gi", "Mi", "Ki" };

        for (size_t i = 0; i < ELEMENTSOF(units); i++) {
                unsigned shift = 40 - 10 * (unsigned) i;
                if (bytes > 0 && bytes % (UINT64_C(1) << shift) == 0) {
                        snprintf(buf, size, "%" PRIu64 "%s", bytes >> shift, units[i]);
                        return;
                }
        }
        snprintf(buf, size, "%" PRIu64, bytes);
}

static int64_t seconds_up(uint64_t usec) {
        return (int64_t) ((usec + USEC_PER_SEC - 1) / USEC_PER_SEC);
}

static void kube_metadata(Kb *k, json_object *o, const Agent *a, const char *name, bool pod) {
        json_object *md = kobj(k, o, "metadata");
        kstr(k, md, "name", name);
        json_object *labels = kobj(k, md, "labels");
        kstr(k, labels, "agentcage.io/agent", a->name);
        if (!pod)
                return;

        json_object *ann = kobj(k, md, "annotations");
        if (a->description)
                kstr(k, ann, "agentcage.io/description", a->description);
        Buffer lost = {};
        if (export_kube_not_expressed(a, &lost) < 0)
                k->oom = true;
        else
                kstr(k, ann, EXPORT_KUBE_ANNOTATION, lost.data);
        buffer_done(&lost);
}

/* The parts of the securityContext the pod and the container share. */
static void kube_security_common(Kb *k, json_object *sc, const Agent *a, const char *profile) {
        kbool(k, sc, "runAsNonRoot", true);
        kint(k, sc, "runAsUser", (int64_t) a->user);
        kint(k, sc, "runAsGroup", (int64_t) a->user);
        json_object *sp = kobj(k, sc, "seccompProfile");
        kstr(k, sp, "type", "Localhost");
        kstr(k, sp, "localhostProfile", profile);
        json_object *ap = kobj(k, sc, "appArmorProfile");
        kstr(k, ap, "type", "Localhost");
        kstr(k, ap, "localhostProfile", EXPORT_APPARMOR_PROFILE);
}

static void kube_container_security(Kb *k, json_object *c, const Agent *a, const char *profile) {
        json_object *sc = kobj(k, c, "securityContext");
        kbool(k, sc, "allowPrivilegeEscalation", false);
        kbool(k, sc, "privileged", false);
        kbool(k, sc, "readOnlyRootFilesystem", true);
        kube_security_common(k, sc, a, profile);
        json_object *caps = kobj(k, sc, "capabilities");
        json_object *drop = karr(k, caps, "drop");
        kstr(k, drop, NULL, "ALL");
        if (a->cap_net_bind_service)
                kstr(k, karr(k, caps, "add"), NULL, "NET_BIND_SERVICE");
}

static void kube_env(Kb *k, json_object *c, const Agent *a) {
        if (!a->environment || !a->environment[0])
                return;
        json_object *env = karr(k, c, "env");
        for (size_t i = 0; a->environment[i]; i++) {
                const char *eq = strchr(a->environment[i], '=');
                _cleanup_free_ char *name = eq ? strndup(a->environment[i], (size_t) (eq - a->environment[i])) : NULL;
                if (!name) {
                        k->oom = true;
                        return;
                }
                json_object *e = kobj(k, env, NULL);
                kstr(k, e, "name", name);
                kstr(k, e, "value", eq + 1);
        }
}

static void kube_resources(Kb *k, json_object *c, const Agent *a) {
        char mem[32], cpu[32];

        quantity_bytes(mem, sizeof mem, a->memory_max);
        snprintf(cpu, sizeof cpu, "%" PRIu64 "m", a->cpu_quota_percent * 10);
        json_object *res = kobj(k, c, "resources");
        const char *const kinds[] = { "limits", "requests" };
        for (size_t i = 0; i < ELEMENTSOF(kinds); i++) {
                json_object *l = kobj(k, res, kinds[i]);
                kstr(k, l, "cpu", cpu);
                kstr(k, l, "memory", mem);
        }
}

static void kube_mount(Kb *k, json_object *mounts, const char *name, const char *path, bool ro) {
        json_object *m = kobj(k, mounts, NULL);
        kstr(k, m, "name", name);
        kstr(k, m, "mountPath", path);
        if (ro)
                kbool(k, m, "readOnly", true);
}

static void kube_probe(Kb *k, json_object *c, const Agent *a) {
        if (!a->health_check)
                return;
        json_object *p = kobj(k, c, "livenessProbe");
        kstrv(k, kobj(k, p, "exec"), "command", a->health_check);
        kint(k, p, "periodSeconds", seconds_up(a->health_interval_usec));
        kint(k, p, "failureThreshold", (int64_t) a->health_retries);
}

static void kube_container(Kb *k, json_object *spec, const Agent *a, const char *image, const char *profile) {
        json_object *c = kobj(k, karr(k, spec, "containers"), NULL);
        kstr(k, c, "name", "agent");
        kstr(k, c, "image", image);
        json_object *cmd = karr(k, c, "command");
        kstr(k, cmd, NULL, a->exec[0]);
        if (a->exec[1])
                kstrv(k, c, "args", a->exec + 1);
        kstr(k, c, "workingDir", a->working_directory);
        kube_env(k, c, a);
        kube_resources(k, c, a);
        kube_container_security(k, c, a, profile);
        kube_probe(k, c, a);

        json_object *mounts = karr(k, c, "volumeMounts");
        kube_mount(k, mounts, "tmp", "/tmp", false);
        kube_mount(k, mounts, "workspace", "/workspace", false);
        if (a->n_secrets > 0)
                kube_mount(k, mounts, "secrets", "/run/secrets", true);
        if (a->shared_state)
                kube_mount(k, mounts, "shared", "/shared", false);
}

static void kube_empty_dir(Kb *k, json_object *vols, const char *name, uint64_t size) {
        char q[32];

        quantity_bytes(q, sizeof q, size);
        json_object *v = kobj(k, vols, NULL);
        kstr(k, v, "name", name);
        json_object *ed = kobj(k, v, "emptyDir");
        kstr(k, ed, "medium", "Memory");
        kstr(k, ed, "sizeLimit", q);
}

static void kube_volumes(Kb *k, json_object *spec, const Agent *a) {
        char ref[AGENT_NAME_MAX + 32];
        json_object *vols = karr(k, spec, "volumes");

        kube_empty_dir(k, vols, "tmp", a->tmp_size);
        kube_empty_dir(k, vols, "workspace", a->workspace_size);
        if (a->n_secrets > 0) {
                json_object *v = kobj(k, vols, NULL);
                kstr(k, v, "name", "secrets");
                json_object *s = kobj(k, v, "secret");
                snprintf(ref, sizeof ref, "%s-secrets", a->name);
                kstr(k, s, "secretName", ref);
                kint(k, s, "defaultMode", 0400);
                json_object *items = karr(k, s, "items");
                for (size_t i = 0; i < a->n_secrets; i++) {
                        json_object *it = kobj(k, items, NULL);
                        kstr(k, it, "key", a->secrets[i].name);
                        kstr(k, it, "path", a->secrets[i].name);
                }
        }
        if (a->shared_state) {
                json_object *v = kobj(k, vols, NULL);
                kstr(k, v, "name", "shared");
                snprintf(ref, sizeof ref, "%s-shared", a->name);
                kstr(k, kobj(k, v, "persistentVolumeClaim"), "claimName", ref);
        }
}

static json_object *kube_pod(Kb *k, const Agent *a, const char *image, const char *profile) {
        static const char *const restart[] = {
                [RESTART_NO] = "Never",
                [RESTART_ON_FAILURE] = "OnFailure",
                [RESTART_ALWAYS] = "Always",
        };
        json_object *pod = json_object_new_object();
        if (!pod) {
                k->oom = true;
                return NULL;
        }
        kstr(k, pod, "apiVersion", "v1");
        kstr(k, pod, "kind", "Pod");
        kube_metadata(k, pod, a, a->name, true);

        json_object *spec = kobj(k, pod, "spec");
        kstr(k, spec, "restartPolicy", restart[a->restart]);
        kint(k, spec, "activeDeadlineSeconds", seconds_up(a->runtime_max_usec));
        kbool(k, spec, "automountServiceAccountToken", false);
        kbool(k, spec, "enableServiceLinks", false);
        kbool(k, spec, "hostUsers", false);
        kbool(k, spec, "hostNetwork", false);
        kbool(k, spec, "hostPID", false);
        kbool(k, spec, "hostIPC", false);
        json_object *psc = kobj(k, spec, "securityContext");
        kube_security_common(k, psc, a, profile);
        kint(k, psc, "fsGroup", (int64_t) a->user);
        kube_container(k, spec, a, image, profile);
        kube_volumes(k, spec, a);
        return pod;
}

/* ---- the NetworkPolicy ---------------------------------------------------
 * A NetworkPolicy selects addresses, never host names. For an agent with
 * [Egress] it allows TCP to the ports of Allow= on public addresses: every
 * address but those agentcage's proxy refuses to connect to
 * (src/egress/egress-address.c). tests/export/test-export.c checks, address
 * by address, that the except lists below and the proxy's table agree. */

typedef struct Range {
        uint8_t a[16];
        unsigned bits;
} Range;

/* Most of what the proxy refuses is inside these; its single addresses
 * (metadata, broadcast) are inside a range here. */
static const Range except4[] = {
        { { 0, 0, 0, 0 }, 8 },      /* this network */
        { { 10, 0, 0, 0 }, 8 },     /* private (RFC 1918) */
        { { 100, 64, 0, 0 }, 10 },  /* shared/CGNAT, with the metadata address 100.100.100.200 */
        { { 127, 0, 0, 0 }, 8 },    /* loopback */
        { { 169, 254, 0, 0 }, 16 }, /* link-local, with the metadata address 169.254.169.254 */
        { { 172, 16, 0, 0 }, 12 },  /* private (RFC 1918) */
        { { 192, 0, 0, 0 }, 24 },   /* IETF protocol assignments */
        { { 192, 168, 0, 0 }, 16 }, /* private (RFC 1918) */
        { { 224, 0, 0, 0 }, 4 },    /* multicast */
        { { 240, 0, 0, 0 }, 4 },    /* reserved, with the broadcast address */
};

/* IPv6 ranges of their own. Every IPv4 range above is excepted again in its
 * NAT64 (64:ff9b::/96) and 6to4 (2002::/16) forms, which the proxy judges by
 * the IPv4 address they carry. An IPv4-mapped address (::ffff:0:0/96) never
 * leaves a host as such: the kernel sends IPv4, which the IPv4 block judges. */
static const Range except6[] = {
        { {}, 96 },                /* unspecified ::, loopback ::1, IPv4-compatible */
        { { 0xfc }, 7 },           /* unique-local, with the metadata address fd00:ec2::254 */
        { { 0xfe, 0x80 }, 10 },    /* link-local */
        { { 0xfe, 0xc0 }, 10 },    /* site-local */
        { { 0xff }, 8 },           /* multicast */
};
static const uint8_t nat64_prefix[] = { 0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0 };
static const uint8_t sixtofour_prefix[] = { 0x20, 0x02 };

static void kcidr(Kb *k, json_object *arr, int family, const uint8_t *addr, unsigned bits) {
        char text[INET6_ADDRSTRLEN], cidr[INET6_ADDRSTRLEN + 8];

        if (!inet_ntop(family, addr, text, sizeof text)) {
                k->oom = true;
                return;
        }
        snprintf(cidr, sizeof cidr, "%s/%u", text, bits);
        kstr(k, arr, NULL, cidr);
}

/* An IPv4 range carried inside an IPv6 prefix of prefix_len bytes. */
static void kcidr_embedded(Kb *k, json_object *arr, const uint8_t *prefix, size_t prefix_len, const Range *r4) {
        uint8_t a[16] = {};

        memcpy(a, prefix, prefix_len);
        memcpy(a + prefix_len, r4->a, 4);
        kcidr(k, arr, AF_INET6, a, (unsigned) prefix_len * 8 + r4->bits);
}

static void kube_public_blocks(Kb *k, json_object *to) {
        json_object *b4 = kobj(k, kobj(k, to, NULL), "ipBlock");
        kstr(k, b4, "cidr", "0.0.0.0/0");
        json_object *ex4 = karr(k, b4, "except");
        for (size_t i = 0; i < ELEMENTSOF(except4); i++)
                kcidr(k, ex4, AF_INET, except4[i].a, except4[i].bits);

        json_object *b6 = kobj(k, kobj(k, to, NULL), "ipBlock");
        kstr(k, b6, "cidr", "::/0");
        json_object *ex6 = karr(k, b6, "except");
        for (size_t i = 0; i < ELEMENTSOF(except6); i++)
                kcidr(k, ex6, AF_INET6, except6[i].a, except6[i].bits);
        for (size_t i = 0; i < ELEMENTSOF(except4); i++)
                kcidr_embedded(k, ex6, nat64_prefix, sizeof nat64_prefix, &except4[i]);
        for (size_t i = 0; i < ELEMENTSOF(except4); i++)
                kcidr_embedded(k, ex6, sixtofour_prefix, sizeof sixtofour_prefix, &except4[i]);
}

static void kport(Kb *k, json_object *ports, const char *protocol, unsigned port) {
        json_object *p = kobj(k, ports, NULL);
        kstr(k, p, "protocol", protocol);
        kint(k, p, "port", port);
}

/* The distinct ports of Allow=, ascending, into ret (of EGRESS_PATTERNS_MAX). */
static int egress_ports(const Agent *a, unsigned *ret, size_t *ret_n) {
        size_t n = 0;

        for (size_t i = 0; a->egress_allow[i]; i++) {
                EgressPattern p;
                char why[128];
                size_t j;

                if (i >= EGRESS_PATTERNS_MAX || egress_pattern_parse(a->egress_allow[i], &p, why, sizeof why) < 0)
                        return -EINVAL; /* the schema let it through: not ours to fix */
                for (j = 0; j < n && ret[j] < p.port; j++)
                        ;
                if (j < n && ret[j] == p.port)
                        continue;
                memmove(ret + j + 1, ret + j, (n - j) * sizeof *ret);
                ret[j] = p.port;
                n++;
        }
        *ret_n = n;
        return 0;
}

/* What the egress policy does not enforce, on the policy itself. */
static void kube_egress_annotations(Kb *k, json_object *md, const Agent *a, const unsigned *ports, size_t n) {
        Buffer b = {};
        json_object *ann = kobj(k, md, "annotations");

        for (size_t i = 0; a->egress_allow[i]; i++)
                buffer_printf(&b, "%s%s", i > 0 ? " " : "", a->egress_allow[i]);
        kstr(k, ann, "agentcage.io/egress-allow", b.data);
        buffer_done(&b);
        for (size_t i = 0; a->egress_deny && a->egress_deny[i]; i++)
                buffer_printf(&b, "%s%s", i > 0 ? " " : "", a->egress_deny[i]);
        if (b.data)
                kstr(k, ann, "agentcage.io/egress-deny", b.data);
        buffer_done(&b);
        kstr(k, ann, "agentcage.io/egress-methods", a->egress_read_only ? "read-only" : "all");

        buffer_puts(&b, "host names are not enforced: this policy lets the Pod reach every public address on TCP port");
        for (size_t i = 0; i < n; i++)
                buffer_printf(&b, "%s %u", i == 0 ? (n > 1 ? "s" : "") : ",", ports[i]);
        buffer_puts(&b, ", not only the hosts of agentcage.io/egress-allow; agentcage.io/egress-deny and "
                        "agentcage.io/egress-methods are not enforced at all. Enforcing them needs an egress "
                        "proxy or gateway (then narrow this policy to it) or a CNI with FQDN policies.");
        if (buffer_status(&b) < 0)
                k->oom = true;
        else
                kstr(k, ann, EXPORT_KUBE_ANNOTATION, b.data);
        buffer_done(&b);
}

/* DNS to the cluster's resolver, then TCP to the ports of Allow= on public
 * addresses. */
static int kube_egress_rules(Kb *k, json_object *np, json_object *spec, const Agent *a) {
        unsigned ports[EGRESS_PATTERNS_MAX];
        size_t n;
        int r;

        r = egress_ports(a, ports, &n);
        if (r < 0)
                return r;
        kube_egress_annotations(k, json_object_object_get(np, "metadata"), a, ports, n);

        json_object *egress = karr(k, spec, "egress");
        json_object *dns = kobj(k, egress, NULL);
        json_object *peer = kobj(k, karr(k, dns, "to"), NULL);
        kstr(k, kobj(k, kobj(k, peer, "namespaceSelector"), "matchLabels"), "kubernetes.io/metadata.name", "kube-system");
        kstr(k, kobj(k, kobj(k, peer, "podSelector"), "matchLabels"), "k8s-app", "kube-dns");
        json_object *dns_ports = karr(k, dns, "ports");
        kport(k, dns_ports, "UDP", 53);
        kport(k, dns_ports, "TCP", 53);

        json_object *pub = kobj(k, egress, NULL);
        kube_public_blocks(k, karr(k, pub, "to"));
        json_object *pub_ports = karr(k, pub, "ports");
        for (size_t i = 0; i < n; i++)
                kport(k, pub_ports, "TCP", ports[i]);
        return 0;
}

int export_kube_egress_summary(const Agent *a, Buffer *b) {
        unsigned ports[EGRESS_PATTERNS_MAX];
        size_t n;
        int r;

        if (!a->egress_allow)
                return 0;
        r = egress_ports(a, ports, &n);
        if (r < 0)
                return r;
        buffer_puts(b, "Egress: [Egress] Allow=");
        for (size_t i = 0; a->egress_allow[i]; i++)
                buffer_printf(b, "%s%s", i > 0 ? " " : "", a->egress_allow[i]);
        buffer_printf(b, "\n"
                      "A NetworkPolicy cannot match host names, so %s-egress allows: TCP to port", a->name);
        for (size_t i = 0; i < n; i++)
                buffer_printf(b, "%s %u", i == 0 ? (n > 1 ? "s" : "") : ",", ports[i]);
        buffer_puts(b, " on public\n"
                       "addresses only (0.0.0.0/0 and ::/0 except what agentcage's proxy refuses: this network,\n"
                       "loopback, private 10/8 172.16/12 192.168/16, CGNAT 100.64/10, link-local 169.254/16 with\n"
                       "the metadata address, 192.0.0/24, multicast, reserved, ::/96, unique-local fc00::/7,\n"
                       "link-local fe80::/10, site-local fec0::/10, and the NAT64 and 6to4 forms of the IPv4\n"
                       "ranges), and DNS (UDP and TCP 53) to the kube-dns pods in kube-system. Every public host\n"
                       "on those ports is reachable, not only the named ones: enforcing the names (and Deny=,\n"
                       "Methods=) needs an egress proxy or gateway, or a CNI with FQDN policies (Cilium's\n"
                       "toFQDNs, Calico's DNS policies). The Pod sets no HTTP(S)_PROXY: it carries no proxy,\n"
                       "and variables that name one that is not there would fail every request; set them when\n"
                       "you add yours, and narrow the policy to it. Cluster addresses in private ranges (pods,\n"
                       "services) are not reachable, kube-dns aside; a node-local DNS cache (169.254.20.10)\n"
                       "needs a rule of its own.\n");
        return buffer_status(b);
}

int export_kube_network_policy(const Agent *a, json_object **ret) {
        char name[AGENT_NAME_MAX + 32];
        Kb k = {};
        int r = 0;

        json_object *np = json_object_new_object();
        if (!np)
                return -ENOMEM;
        kstr(&k, np, "apiVersion", "networking.k8s.io/v1");
        kstr(&k, np, "kind", "NetworkPolicy");
        snprintf(name, sizeof name, "%s-%s", a->name,
                 a->egress_allow ? "egress" : a->network == NETWORK_NONE ? "deny-all" : "deny-ingress");
        kube_metadata(&k, np, a, name, false);
        json_object *spec = kobj(&k, np, "spec");
        kstr(&k, kobj(&k, kobj(&k, spec, "podSelector"), "matchLabels"), "agentcage.io/agent", a->name);
        /* No ingress rules: nothing comes in. No egress rules (Network=none
         * without [Egress]): nothing goes out. */
        json_object *types = karr(&k, spec, "policyTypes");
        kstr(&k, types, NULL, "Ingress");
        if (a->network == NETWORK_NONE)
                kstr(&k, types, NULL, "Egress");
        if (a->egress_allow)
                r = kube_egress_rules(&k, np, spec, a);
        if (r >= 0 && k.oom)
                r = -ENOMEM;
        if (r < 0) {
                json_object_put(np);
                return r;
        }
        *ret = np;
        return 0;
}

int export_kube_build(const Agent *a, const ExportOptions *o, json_object **ret) {
        _cleanup_free_ char *profile = NULL;
        const char *image;
        Kb k = {};
        int r;

        r = export_image_ref(a, o, &image);
        if (r < 0)
                return r;
        if (o->seccomp_profile)
                profile = strdup(o->seccomp_profile);
        else if (asprintf(&profile, EXPORT_KUBE_PROFILE_FMT, a->name) < 0)
                profile = NULL;
        if (!profile)
                return -ENOMEM;

        json_object *list = json_object_new_object();
        if (!list)
                return -ENOMEM;
        kstr(&k, list, "apiVersion", "v1");
        kstr(&k, list, "kind", "List");
        json_object *items = karr(&k, list, "items");
        kadd(&k, items, NULL, kube_pod(&k, a, image, profile));
        json_object *np = NULL;
        r = export_kube_network_policy(a, &np);
        if (r >= 0)
                kadd(&k, items, NULL, np);
        if (r >= 0 && k.oom)
                r = -ENOMEM;
        if (r < 0) {
                json_object_put(list);
                return r;
        }
        *ret = list;
        return 0;
}
