// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Checks what `agentctl export NAME --format kubernetes` writes:
//
//   node check-manifests.cjs MODULES MANIFEST.yaml MANIFEST.json [network]
//       the YAML and the JSON say the same thing (parsed by the npm yaml
//       package); every object passes kubernetes-models' validate(); and our
//       strict checks on top, which validate() does not make (it accepts
//       unknown fields and hostNetwork: true): no key outside the fields the
//       exporter emits, every rule of the "restricted" Pod Security Standard,
//       and the floor's own settings. network is "none", "private" or
//       "egress" (Network=none with [Egress]).
//   node check-manifests.cjs MODULES --list-mutations [network]
//   node check-manifests.cjs MODULES --mutate NAME MANIFEST.json [network]
//       applies one deliberate breakage to the manifest and exits 0 only if
//       the checks above reject it: the checks can fail.
//   node check-manifests.cjs MODULES --mutate-all MANIFEST.json [network]
//       every breakage in turn, one line each: "rejected NAME: reason" or
//       "ACCEPTED NAME".
//
// Prints what it finds as "# " lines. Exit status 0: accepted (with --mutate:
// the broken manifest was rejected).
"use strict";

const fs = require("fs");
const path = require("path");

const modules = process.argv[2];
const req = (m) => require(path.resolve(modules, "node_modules", m));
const { Pod } = req("kubernetes-models/v1");
const { NetworkPolicy } = req("kubernetes-models/networking.k8s.io/v1");
const YAML = req("yaml");

// The fields the exporter emits. "*" is a map of strings to strings; [x] a
// list of x; "s" a string, "i" an integer, "b" a boolean.
const STRMAP = "*";
const securityProfile = { type: "s", localhostProfile: "s" };
const commonSecurity = {
        runAsNonRoot: "b", runAsUser: "i", runAsGroup: "i",
        seccompProfile: securityProfile, appArmorProfile: securityProfile,
};
const quantities = { cpu: "s", memory: "s" };
const metadata = { name: "s", labels: STRMAP, annotations: STRMAP };
const POD = {
        apiVersion: "s", kind: "s", metadata,
        spec: {
                restartPolicy: "s", activeDeadlineSeconds: "i", automountServiceAccountToken: "b",
                enableServiceLinks: "b", hostUsers: "b", hostNetwork: "b", hostPID: "b", hostIPC: "b",
                securityContext: { ...commonSecurity, fsGroup: "i" },
                containers: [{
                        name: "s", image: "s", command: ["s"], args: ["s"], workingDir: "s",
                        env: [{ name: "s", value: "s" }],
                        resources: { limits: quantities, requests: quantities },
                        securityContext: {
                                ...commonSecurity, allowPrivilegeEscalation: "b", privileged: "b",
                                readOnlyRootFilesystem: "b", capabilities: { drop: ["s"], add: ["s"] },
                        },
                        livenessProbe: { exec: { command: ["s"] }, periodSeconds: "i", failureThreshold: "i" },
                        volumeMounts: [{ name: "s", mountPath: "s", readOnly: "b" }],
                }],
                volumes: [{
                        name: "s",
                        emptyDir: { medium: "s", sizeLimit: "s" },
                        secret: { secretName: "s", defaultMode: "i", items: [{ key: "s", path: "s" }] },
                        persistentVolumeClaim: { claimName: "s" },
                }],
        },
};
const NETPOL = {
        apiVersion: "s", kind: "s", metadata,
        spec: {
                podSelector: { matchLabels: STRMAP }, policyTypes: ["s"],
                egress: [{
                        to: [{
                                namespaceSelector: { matchLabels: STRMAP }, podSelector: { matchLabels: STRMAP },
                                ipBlock: { cidr: "s", except: ["s"] },
                        }],
                        ports: [{ protocol: "s", port: "i" }],
                }],
        },
};

function walk(v, shape, where, errors) {
        if (shape === STRMAP) {
                if (typeof v !== "object" || v === null || Array.isArray(v))
                        return errors.push(`${where}: not a map`);
                for (const [k, x] of Object.entries(v))
                        if (typeof x !== "string")
                                errors.push(`${where}.${k}: not a string`);
                return;
        }
        if (Array.isArray(shape)) {
                if (!Array.isArray(v))
                        return errors.push(`${where}: not a list`);
                v.forEach((x, i) => walk(x, shape[0], `${where}[${i}]`, errors));
                return;
        }
        if (typeof shape === "object") {
                if (typeof v !== "object" || v === null || Array.isArray(v))
                        return errors.push(`${where}: not an object`);
                for (const [k, x] of Object.entries(v)) {
                        if (!(k in shape))
                                errors.push(`${where}.${k}: a field the exporter does not emit`);
                        else
                                walk(x, shape[k], `${where}.${k}`, errors);
                }
                return;
        }
        const ok = shape === "s" ? typeof v === "string" :
                   shape === "i" ? Number.isInteger(v) : typeof v === "boolean";
        if (!ok)
                errors.push(`${where}: not of type ${shape}`);
}

// The "restricted" Pod Security Standard (kubernetes.io/docs/concepts/
// security/pod-security-standards, v1.30), baseline rules included, for the
// fields a Pod can carry; plus the floor's own choices.
const RESTRICTED_VOLUMES = ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                            "persistentVolumeClaim", "projected", "secret"];
function checkPod(pod, errors) {
        const spec = pod.spec || {};
        const psc = spec.securityContext || {};
        const must = (cond, what) => { if (!cond) errors.push(what); };

        for (const h of ["hostNetwork", "hostPID", "hostIPC"])
                must(spec[h] !== true, `baseline: spec.${h} must not be true`);
        must(spec.hostUsers === false, "floor: spec.hostUsers must be false (a user namespace)");
        must(spec.automountServiceAccountToken === false, "floor: no service account token");
        must(spec.enableServiceLinks === false, "floor: no service links");
        must(Number.isInteger(spec.activeDeadlineSeconds) && spec.activeDeadlineSeconds > 0,
             "floor: activeDeadlineSeconds from RuntimeMaxSec=");
        must(["Never", "OnFailure", "Always"].includes(spec.restartPolicy), "floor: a restartPolicy");

        for (const v of spec.volumes || []) {
                const types = Object.keys(v).filter((k) => k !== "name");
                must(types.length === 1, `volume ${v.name}: exactly one type`);
                for (const t of types)
                        must(RESTRICTED_VOLUMES.includes(t), `restricted: volume ${v.name} of type ${t} (hostPath and the like are forbidden)`);
                if (v.emptyDir)
                        must(v.emptyDir.medium === "Memory" && typeof v.emptyDir.sizeLimit === "string",
                             `floor: volume ${v.name} is a sized RAM emptyDir`);
                if (v.secret)
                        must(v.secret.defaultMode === 0o400, `floor: secret volume mode 0400`);
        }

        const all = [...(spec.initContainers || []), ...(spec.containers || []), ...(spec.ephemeralContainers || [])];
        must((spec.containers || []).length > 0, "a container");
        for (const c of all) {
                const sc = c.securityContext || {};
                const caps = sc.capabilities || {};
                const eff = (k) => (sc[k] !== undefined ? sc[k] : psc[k]);
                must(sc.privileged !== true, `baseline: ${c.name} is not privileged`);
                must(!(c.ports || []).some((p) => p.hostPort), `baseline: ${c.name} has no hostPort`);
                must(sc.allowPrivilegeEscalation === false, `restricted: ${c.name} allowPrivilegeEscalation false`);
                must(eff("runAsNonRoot") === true, `restricted: ${c.name} runAsNonRoot`);
                must(eff("runAsUser") !== 0 && eff("runAsUser") !== undefined, `restricted: ${c.name} runAsUser not 0`);
                must(Array.isArray(caps.drop) && caps.drop.includes("ALL"), `restricted: ${c.name} drops ALL capabilities`);
                must((caps.add || []).every((x) => x === "NET_BIND_SERVICE"), `restricted: ${c.name} adds only NET_BIND_SERVICE`);
                const sp = eff("seccompProfile") || {};
                must(["RuntimeDefault", "Localhost"].includes(sp.type), `restricted: ${c.name} seccompProfile RuntimeDefault or Localhost`);
                must(sp.type === "Localhost" && /^agentcage\/[a-z0-9-]+\.json$/.test(sp.localhostProfile || ""),
                     `floor: ${c.name} runs under the exported Localhost profile`);
                const ap = eff("appArmorProfile") || {};
                must(ap.type !== "Unconfined", `baseline: ${c.name} AppArmor not Unconfined`);
                must(ap.type === "Localhost" && ap.localhostProfile === "agentcage-agent", `floor: ${c.name} AppArmor agentcage-agent`);
                must(sc.readOnlyRootFilesystem === true, `floor: ${c.name} read-only root`);
                must(sc.procMount === undefined || sc.procMount === "Default", `baseline: ${c.name} procMount Default`);
                const lim = (c.resources || {}).limits || {};
                must(lim.memory && lim.cpu, `floor: ${c.name} has memory and cpu limits`);
        }
        must(psc.sysctls === undefined, "baseline: no sysctls");
}

// What an allow-list must never let through: the ranges agentcage's proxy
// refuses that matter most (its whole table is checked by test-export.c).
const MUST_EXCEPT = {
        "0.0.0.0/0": ["0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
                      "172.16.0.0/12", "192.168.0.0/16"],
        "::/0": ["::/96", "fc00::/7", "fe80::/10"],
};
const isDnsPeer = (p) => Object.keys(p).length === 2 &&
        JSON.stringify(p.namespaceSelector) === JSON.stringify({ matchLabels: { "kubernetes.io/metadata.name": "kube-system" } }) &&
        JSON.stringify(p.podSelector) === JSON.stringify({ matchLabels: { "k8s-app": "kube-dns" } });

// Network=none with [Egress]: DNS to kube-dns only, and TCP to exactly the
// ports of Allow= (the annotation agentcage.io/egress-allow) on public
// addresses only. A rule without "to" or "ports" would allow every
// destination or every port.
function checkEgress(np, must) {
        const spec = np.spec || {};
        const ann = (np.metadata || {}).annotations || {};
        const allow = (ann["agentcage.io/egress-allow"] || "").split(" ").filter((w) => w);
        must(allow.length > 0, "[Egress]: the annotation agentcage.io/egress-allow names the host patterns");
        must(/host names are not enforced/.test(ann["agentcage.io/not-expressed"] || ""),
             "[Egress]: the policy says that host names are not enforced");
        const want = [...new Set(allow.map((w) => Number(w.slice(w.lastIndexOf(":") + 1))))].sort((a, b) => a - b);
        const rules = spec.egress || [];
        must(rules.length > 0, "[Egress]: egress rules");
        let dns = false, pub = false;
        for (const [i, r] of rules.entries()) {
                const to = r.to || [], ports = r.ports || [];
                must(to.length > 0, `egress rule ${i}: has destinations (none would allow all)`);
                must(ports.length > 0, `egress rule ${i}: has ports (none would allow all)`);
                if (to.length > 0 && to.every(isDnsPeer)) {
                        dns = true;
                        must(ports.every((p) => p.port === 53 && ["UDP", "TCP"].includes(p.protocol)),
                             `egress rule ${i}: kube-dns on port 53 only`);
                        continue;
                }
                for (const p of to) {
                        const b = p.ipBlock;
                        must(b && Object.keys(p).length === 1, `egress rule ${i}: an ipBlock, no selector`);
                        if (!b)
                                continue;
                        must(b.cidr in MUST_EXCEPT, `egress rule ${i}: ipBlock ${b.cidr} is 0.0.0.0/0 or ::/0`);
                        for (const e of MUST_EXCEPT[b.cidr] || [])
                                must((b.except || []).includes(e), `egress rule ${i}: ${b.cidr} excepts ${e}`);
                }
                pub = true;
                const got = ports.map((p) => p.port).sort((a, b) => a - b);
                must(ports.every((p) => p.protocol === "TCP"), `egress rule ${i}: TCP only`);
                must(JSON.stringify(got) === JSON.stringify(want),
                     `egress rule ${i}: exactly the ports of Allow= (${want}), got ${got}`);
                const cidrs = to.map((p) => (p.ipBlock || {}).cidr).sort();
                must(JSON.stringify(cidrs) === JSON.stringify(["0.0.0.0/0", "::/0"]), `egress rule ${i}: both address families`);
        }
        must(dns && pub, "[Egress]: a rule for DNS and one for the public addresses");
}

function checkNetPol(np, pod, network, errors) {
        const spec = np.spec || {};
        const must = (cond, what) => { if (!cond) errors.push(what); };
        const sel = (spec.podSelector || {}).matchLabels || {};
        const labels = (pod.metadata || {}).labels || {};
        const types = JSON.stringify(spec.policyTypes || []);
        must(Object.keys(sel).length > 0 && Object.entries(sel).every(([k, v]) => labels[k] === v),
             "the NetworkPolicy selects the Pod");
        must((spec.policyTypes || []).includes("Ingress") && spec.ingress === undefined, "no ingress is allowed");
        if (network === "none")
                must(types === '["Ingress","Egress"]' && spec.egress === undefined, "Network=none: no egress is allowed");
        else if (network === "private")
                must(types === '["Ingress"]' && spec.egress === undefined, "Network=private: ingress denied, egress untouched");
        else if (network === "egress") {
                must(types === '["Ingress","Egress"]', "[Egress]: egress is restricted");
                checkEgress(np, must);
        } else
                must(false, `unknown network ${network}`);
}

function check(items, network) {
        const errors = [];
        const pods = items.filter((o) => o.kind === "Pod");
        const nps = items.filter((o) => o.kind === "NetworkPolicy");
        if (items.length !== 2 || pods.length !== 1 || nps.length !== 1)
                return ["expected exactly one Pod and one NetworkPolicy"];
        for (const [o, Model, shape] of [[pods[0], Pod, POD], [nps[0], NetworkPolicy, NETPOL]]) {
                try {
                        new Model(o).validate();
                } catch (e) {
                        errors.push(`kubernetes-models: ${o.kind}: ${e.message}`);
                }
                walk(o, shape, o.kind, errors);
        }
        checkPod(pods[0], errors);
        checkNetPol(nps[0], pods[0], network, errors);
        return errors;
}

// Breakages of the Pod (every manifest) and of the NetworkPolicy (for the
// network they apply to), each called as f(pod, networkPolicy).
const MUTATIONS = {
        "unknown-field": (p) => { p.spec.containers[0].securityContext.bogus = true; },
        "host-network": (p) => { p.spec.hostNetwork = true; },
        "host-pid": (p) => { p.spec.hostPID = true; },
        "host-path": (p) => { p.spec.volumes.push({ name: "h", hostPath: { path: "/" } }); },
        "privileged": (p) => { p.spec.containers[0].securityContext.privileged = true; },
        "privilege-escalation": (p) => { p.spec.containers[0].securityContext.allowPrivilegeEscalation = true; },
        "root": (p) => { p.spec.securityContext.runAsUser = 0; p.spec.containers[0].securityContext.runAsUser = 0; },
        "run-as-root-allowed": (p) => { delete p.spec.securityContext.runAsNonRoot; delete p.spec.containers[0].securityContext.runAsNonRoot; },
        "cap-sys-admin": (p) => { p.spec.containers[0].securityContext.capabilities.add = ["SYS_ADMIN"]; },
        "no-drop-all": (p) => { p.spec.containers[0].securityContext.capabilities.drop = ["NET_RAW"]; },
        "seccomp-unconfined": (p) => { p.spec.securityContext.seccompProfile = { type: "Unconfined" }; p.spec.containers[0].securityContext.seccompProfile = { type: "Unconfined" }; },
        "apparmor-unconfined": (p) => { p.spec.containers[0].securityContext.appArmorProfile = { type: "Unconfined" }; },
        "writable-root": (p) => { p.spec.containers[0].securityContext.readOnlyRootFilesystem = false; },
        "host-users": (p) => { p.spec.hostUsers = true; },
        "token": (p) => { p.spec.automountServiceAccountToken = true; },
        "disk-tmp": (p) => { delete p.spec.volumes[0].emptyDir.medium; },
        "wrong-type": (p) => { p.spec.containers[0].name = 3; },
        "no-limits": (p) => { delete p.spec.containers[0].resources.limits; },
        "np-ingress-allowed": (p, np) => { np.spec.ingress = [{}]; },
        "np-unknown-field": (p, np) => { np.spec.egressGateway = "x"; },
};
const pub = (np) => np.spec.egress.find((r) => r.to.some((t) => t.ipBlock));
const block = (np, cidr) => pub(np).to.find((t) => t.ipBlock.cidr === cidr).ipBlock;
const NETWORK_MUTATIONS = {
        none: {
                "np-egress-allowed": (p, np) => { np.spec.egress = [{ to: [{ ipBlock: { cidr: "0.0.0.0/0" } }] }]; },
                "np-egress-unrestricted": (p, np) => { np.spec.policyTypes = ["Ingress"]; },
        },
        private: {
                "np-egress-denied": (p, np) => { np.spec.policyTypes.push("Egress"); },
        },
        egress: {
                "np-egress-unrestricted": (p, np) => { np.spec.policyTypes = ["Ingress"]; },
                "np-any-port": (p, np) => { delete pub(np).ports; },
                "np-extra-port": (p, np) => { pub(np).ports.push({ protocol: "TCP", port: 25 }); },
                "np-udp": (p, np) => { pub(np).ports[0].protocol = "UDP"; },
                "np-any-destination": (p, np) => { delete pub(np).to; },
                "np-metadata-reachable": (p, np) => { const b = block(np, "0.0.0.0/0"); b.except = b.except.filter((e) => e !== "169.254.0.0/16"); },
                "np-private-reachable": (p, np) => { const b = block(np, "0.0.0.0/0"); b.except = b.except.filter((e) => e !== "10.0.0.0/8"); },
                "np-ula-reachable": (p, np) => { delete block(np, "::/0").except; },
                "np-cluster-reachable": (p, np) => { pub(np).to.push({ namespaceSelector: {} }); },
                "np-dns-anywhere": (p, np) => { delete np.spec.egress[0].to[0].podSelector; },
                "np-dns-other-port": (p, np) => { np.spec.egress[0].ports.push({ protocol: "TCP", port: 443 }); },
                "np-hosts-unnamed": (p, np) => { delete np.metadata.annotations["agentcage.io/egress-allow"]; },
        },
};
const mutationsFor = (network) => ({ ...MUTATIONS, ...(NETWORK_MUTATIONS[network] || {}) });
function mutate(list, name, network) {
        const pod = list.items.find((o) => o.kind === "Pod");
        const np = list.items.find((o) => o.kind === "NetworkPolicy");
        mutationsFor(network)[name](pod, np);
}

function main() {
        const args = process.argv.slice(3);
        if (args[0] === "--list-mutations") {
                console.log(Object.keys(mutationsFor(args[1] || "none")).join("\n"));
                return 0;
        }
        if (args[0] === "--mutate-all") {
                // One line per mutation: "rejected NAME: first reason" or "ACCEPTED NAME".
                const network = args[2] || "none";
                for (const name of Object.keys(mutationsFor(network))) {
                        const list = JSON.parse(fs.readFileSync(args[1], "utf8"));
                        mutate(list, name, network);
                        const errors = check(list.items, network);
                        console.log(errors.length > 0 ? `rejected ${name}: ${errors[0]}` : `ACCEPTED ${name}`);
                }
                return 0;
        }
        if (args[0] === "--mutate") {
                const list = JSON.parse(fs.readFileSync(args[2], "utf8"));
                mutate(list, args[1], args[3] || "none");
                const errors = check(list.items, args[3] || "none");
                errors.forEach((e) => console.log(`# rejected: ${e}`));
                return errors.length > 0 ? 0 : 1;
        }
        const [yamlFile, jsonFile, network] = args;
        const docs = YAML.parseAllDocuments(fs.readFileSync(yamlFile, "utf8"));
        const errors = [];
        for (const d of docs)
                for (const e of d.errors)
                        errors.push(`YAML: ${e.message}`);
        const fromYaml = docs.map((d) => d.toJS());
        const list = JSON.parse(fs.readFileSync(jsonFile, "utf8"));
        if (list.apiVersion !== "v1" || list.kind !== "List")
                errors.push("the JSON is not a v1 List");
        if (JSON.stringify(fromYaml) !== JSON.stringify(list.items))
                errors.push("the YAML documents and the JSON items differ");
        errors.push(...check(list.items, network || "none"));
        errors.forEach((e) => console.log(`# ${e}`));
        return errors.length > 0 ? 1 : 0;
}

process.exitCode = main();
