#!/usr/bin/env python3
"""Writes a large, realistic iptables-save dump (a university/company border router that is also a small
Kubernetes-style load balancer) and the findings lint must report on it.

    python3 gen-large.py [--seed N] [--subnets N] OUT.rules OUT.expected.yaml

Deterministic for a given seed. The text is in the exact form `iptables-save -c` (1.8, nf_tables) prints:
chains in iptables-save's order (built-ins, then user chains sorted by name), options in the order it prints
them. check-large.sh loads the file into a namespace and saves it back: the two must be equal apart from the
"# Generated/Completed" comment lines, or the line numbers in the expected file would be wrong.

Everything that is not planted is built to be free of findings: within a chain every (destination,
protocol, port) is used once, broad rules come only where planted, and every DNAT target gets its FORWARD
accept rule unless planted otherwise. The planted problems and their lines go to the expected file.
"""
import argparse
import random
import sys

P31 = 1 << 31


def kernel_probability(p):
    """What iptables-save prints for --probability p: the 31-bit value the kernel stores, with 11 decimals."""
    stored = int(p * P31 + 0.5)
    return "%.11f" % (stored / P31)


class Dump:
    def __init__(self, rnd):
        self.rnd = rnd
        self.lines = []
        self.expected = []   # (kind, dict)

    def counters(self, busy=1.0):
        if self.rnd.random() < 0.35:
            return "[0:0] "
        p = int(self.rnd.expovariate(1 / (2000 * busy))) + 1
        return "[%d:%d] " % (p, p * self.rnd.randint(52, 1400))

    def add(self, text):
        self.lines.append(text)
        return len(self.lines)  # 1-based line number of what was just added

    def rule(self, chain, spec, busy=1.0):
        return self.add(self.counters(busy) + "-A %s %s" % (chain, spec))


def build(seed, subnets):
    rnd = random.Random(seed)
    d = Dump(rnd)
    S = list(range(1, subnets + 1))            # 10.S.0.0/16 are the campus subnets
    services_tcp = [22, 25, 53, 80, 110, 143, 443, 465, 587, 993, 995, 1194, 1433, 1521, 2049, 3000, 3306,
                    3389, 5432, 5900, 6379, 8000, 8080, 8443, 8888, 9000, 9090, 9200, 11211, 27017]
    services_udp = [53, 123, 161, 500, 514, 1194, 1812, 4500, 5060, 51820]

    # Which subnets are special: planted problems, host chains.
    planted_range_shadow = set(rnd.sample(S, 10))      # a /24 drop of telnet, then a host exception below it
    planted_logdrop = set(rnd.sample(S, 5))            # a jump to logdrop for a /24, then an accept inside it
    host_chain_subnets = set(rnd.sample(S, min(len(S), 100)))
    dnat_broken = 3

    # ---------------------------------------------------------------- filter
    filt = []   # (chain, spec) in chain order; chains sorted by name after the built-ins, as iptables-save does
    chains = {}

    def ch(name):
        return chains.setdefault(name, [])

    ch("INPUT"), ch("FORWARD"), ch("OUTPUT")
    for c in ["blocklist", "bogons", "egress", "icmp-ok", "logdrop", "logreject", "tcpflags", "admin-ssh"]:
        ch(c)

    ch("INPUT").extend([
        ("-i lo -j ACCEPT", None),
        ("-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT", None),
        ("-m conntrack --ctstate INVALID -j DROP", None),
        ("-i eth0 -j bogons", None),
        ("-j blocklist", None),
        ("-p icmp -j icmp-ok", None),
        ("-p tcp -m tcp --dport 22 -j admin-ssh", None),
        ("-s 10.255.0.0/24 -p udp -m udp --dport 161 -j ACCEPT", None),
        ("-m limit --limit 10/min -j LOG --log-prefix \"in-drop: \" --log-level 6", None),
    ])
    for i in range(12):
        ch("admin-ssh").append(("-s 10.255.%d.0/28 -j ACCEPT" % (i * 16), None))
    ch("admin-ssh").append(("-m recent --set --name ssh-probe --mask 255.255.255.255 --rsource -j logdrop", None))

    for net in ["0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "192.0.2.0/24", "198.18.0.0/15", "224.0.0.0/4",
                "240.0.0.0/4"]:
        ch("bogons").append(("-s %s -j logdrop" % net, None))
    ch("bogons").append(("-j RETURN", None))

    ch("blocklist").append(("-m set --match-set blocklist-v4 src -j logdrop", None))
    used = set()
    for i in range(300):
        while True:
            a = "%d.%d.%d.%d" % (rnd.choice([45, 77, 91, 103, 141, 185, 193, 212]), rnd.randint(0, 255),
                                 rnd.randint(0, 255), rnd.randint(1, 254))
            if a not in used:
                used.add(a)
                break
        ch("blocklist").append(("-s %s/32 -m comment --comment \"abuse ticket %d\" -j DROP" % (a, 4000 + i), None))
    ch("blocklist").append(("-j RETURN", None))

    for t in ["0", "3", "8", "11", "12"]:
        ch("icmp-ok").append(("-p icmp -m icmp --icmp-type %s -m limit --limit 20/sec -j ACCEPT" % t, None))
    ch("icmp-ok").append(("-j logdrop", None))

    ch("logdrop").extend([("-m limit --limit 10/min -j LOG --log-prefix \"drop: \" --log-level 6", None),
                          ("-j DROP", None)])
    ch("logreject").extend([("-m limit --limit 10/min -j LOG --log-prefix \"reject: \" --log-level 6", None),
                            ("-p tcp -j REJECT --reject-with tcp-reset", None),
                            ("-j REJECT --reject-with icmp-port-unreachable", None)])
    flags = ["FIN,SYN,RST,PSH,ACK,URG NONE", "FIN,SYN FIN,SYN", "SYN,RST SYN,RST", "FIN,RST FIN,RST",
             "FIN,ACK FIN", "ACK,URG URG", "PSH,ACK PSH", "FIN,SYN,RST,PSH,ACK,URG FIN,SYN,RST,PSH,ACK,URG"]
    for f in flags:
        ch("tcpflags").append(("-p tcp -m tcp --tcp-flags %s -j logdrop" % f, None))
    # Planted: an exact duplicate of an opaque (--tcp-flags) rule.
    ch("tcpflags").insert(3, ("-p tcp -m tcp --tcp-flags FIN,SYN FIN,SYN -j logdrop", "duplicate"))
    ch("tcpflags").append(("-j RETURN", None))

    for port in [25, 137, 138, 139, 445, 1900]:
        ch("egress").append(("-p tcp -m tcp --dport %d -j logreject" % port, None))
    ch("egress").append(("-m set --match-set blocklist-v4 dst -j logreject", None))
    ch("egress").append(("-j ACCEPT", None))

    fwd = ch("FORWARD")
    fwd.extend([("-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT", None),
                ("-m conntrack --ctstate INVALID -j DROP", None),
                ("-i eth0 -j bogons", None),
                ("-j blocklist", None),
                ("-p tcp -j tcpflags", None)])

    dnat_plan = []   # (public ip, public port, inner ip, inner port, proto, forward_ok)
    for s in S:
        name = "net-%03d" % s
        rules = ch(name)
        fwd.append(("-d 10.%d.0.0/16 -j %s" % (s, name), None))
        if rnd.random() < 0.3:
            rules.append(("-m set --match-set blk-%03d src -j logdrop" % s, None))
        if s in planted_range_shadow:
            rules.append(("-d 10.%d.7.0/24 -p tcp -m tcp --dport 23 -j DROP" % s, ("range-shadower", s)))
        if s in planted_logdrop:
            rules.append(("-s 203.0.113.0/24 -j logdrop", ("logdrop-shadower", s)))
        hosts = rnd.randint(6, 14)
        for h in range(hosts):
            ip = "10.%d.%d.%d" % (s, rnd.choice([1, 2, 3, 4, 5, 6, 8, 9]), 10 + h)
            if s in host_chain_subnets and h == 0:
                hc = "h-10-%d-%s" % (s, ip.split(".", 2)[2].replace(".", "-"))
                rules.append(("-d %s/32 -j %s" % (ip, hc), None))
                hrules = ch(hc)
                if rnd.random() < 0.5:
                    # Rate limit first, then the accepts: written the other way round it would be dead.
                    hrules.append(("-p tcp -m tcp --dport 22 -m hashlimit --hashlimit-above 4/min --hashlimit-burst 8"
                                   " --hashlimit-mode srcip --hashlimit-name %s -j logdrop" % hc, None))
                for port in rnd.sample(services_tcp, rnd.randint(4, 9)):
                    src = "" if rnd.random() < 0.6 else "-s 10.%d.0.0/16 " % rnd.randint(1, 250)
                    hrules.append(("%s-p tcp -m tcp --dport %d -j ACCEPT" % (src, port), None))
                continue
            ports = rnd.sample(services_tcp, rnd.randint(1, 4))
            if len(ports) > 1 and rnd.random() < 0.4:
                rules.append(("-d %s/32 -p tcp -m multiport --dports %s -j ACCEPT" % (ip, ",".join(map(str, sorted(ports)))), None))
            else:
                for port in ports:
                    extra = rnd.choice(["", "", "", " -m conntrack --ctstate NEW", " -m comment --comment \"ticket %d\"" % rnd.randint(1000, 9999)])
                    rules.append(("-d %s/32 -p tcp -m tcp --dport %d%s -j ACCEPT" % (ip, port, extra), None))
            if rnd.random() < 0.3:
                rules.append(("-d %s/32 -p udp -m udp --dport %d -j ACCEPT" % (ip, rnd.choice(services_udp)), None))
            if rnd.random() < 0.1 and len(dnat_plan) < 150:
                dnat_plan.append((s, ip, ports[0]))
        if s in planted_range_shadow:
            rules.append(("-d 10.%d.7.23/32 -p tcp -m tcp --dport 23 -m comment --comment \"legacy telnet exception\" -j ACCEPT" % s,
                          ("range-victim", s)))
        if s in planted_logdrop:
            rules.append(("-s 203.0.113.44/32 -d 10.%d.0.0/16 -p tcp -m tcp --dport 443 -j ACCEPT" % s, ("logdrop-victim", s)))
        rules.append(("-j RETURN", None))

    fwd.append(("-i eth1 -o eth0 -j egress", None))
    fwd.append(("-m limit --limit 10/min -j LOG --log-prefix \"fwd-drop: \" --log-level 6", None))

    # Planted: a script that appended the same rule 15 times.
    for _ in range(15):
        ch("OUTPUT").append(("-d 10.255.0.5/32 -p udp -m udp --dport 514 -j ACCEPT", "copies"))
    ch("OUTPUT").append(("-m owner --uid-owner 0 -j ACCEPT", None))

    # ---------------------------------------------------------------- nat
    nat = {"PREROUTING": [], "INPUT": [], "OUTPUT": [], "POSTROUTING": [], "port-fwd": [], "SVCS": []}
    nat["PREROUTING"].append(("-i eth0 -j port-fwd", None))
    nat["PREROUTING"].append(("-m addrtype --dst-type LOCAL -j SVCS", None))
    nat["OUTPUT"].append(("-m addrtype --dst-type LOCAL -j SVCS", None))
    nat["POSTROUTING"].append(("-s 10.0.0.0/8 -o eth0 -j SNAT --to-source 198.51.100.1-198.51.100.8 --persistent", None))
    broken = set(rnd.sample(range(len(dnat_plan)), min(dnat_broken, len(dnat_plan))))
    for i, (s, ip, port) in enumerate(dnat_plan):
        pub = "198.51.100.%d" % (20 + i // 50)
        pubport = 10000 + i
        if i in broken:
            # No FORWARD accept for this target: it gets a port nobody accepts in its subnet chain.
            nat["port-fwd"].append(("-d %s/32 -p tcp -m tcp --dport %d -j DNAT --to-destination %s:%d" % (pub, pubport, ip, 4444),
                                    ("dnat-broken", (s, ip))))
        else:
            nat["port-fwd"].append(("-d %s/32 -p tcp -m tcp --dport %d -j DNAT --to-destination %s:%d" % (pub, pubport, ip, port), None))

    n_svc = 40
    # One TCP and one UDP service get the tutorial's mistake (UDP services are those with v % 7 == 3).
    unbalanced = {rnd.choice([v for v in range(n_svc) if v % 7 != 3]), rnd.choice([v for v in range(n_svc) if v % 7 == 3])}
    for v in range(n_svc):
        svc = "svc-%02d" % v
        nat[svc] = []
        vip = "10.96.%d.%d" % (v // 200, v % 200 + 1)
        proto = "udp" if v % 7 == 3 else "tcp"
        nat["SVCS"].append(("-d %s/32 -p %s -m %s --dport %d -j %s" % (vip, proto, proto, 80 if proto == "tcp" else 53, svc), None))
        n = rnd.randint(2, 5)
        for e in range(n):
            sep = "sep-%02d-%d" % (v, e)
            ep = "10.244.%d.%d" % (v, e + 2)
            nat[sep] = [("-s %s/32 -j MARK --set-xmark 0x4000/0x4000" % ep, None),
                        ("-p %s -m %s -j DNAT --to-destination %s:%d" % (proto, proto, ep, 8080 if proto == "tcp" else 53), None)]
            if v in unbalanced:
                # Planted: the tutorial's mistake, 1/n on every rule and no unconditional last rule.
                nat[svc].append(("-m statistic --mode random --probability %s -j %s" % (kernel_probability(1.0 / n), sep),
                                 ("unbalanced", (v, n, proto)) if e == 0 else None))
            elif e < n - 1:
                nat[svc].append(("-m statistic --mode random --probability %s -j %s" % (kernel_probability(1.0 / (n - e)), sep), None))
            else:
                nat[svc].append(("-j %s" % sep, None))
        # Every endpoint network is forwarded.
    fwd.append(("-d 10.244.0.0/16 -m mark --mark 0x4000/0x4000 -j ACCEPT", None))
    fwd.append(("-s 10.244.0.0/16 -i cni0 -j ACCEPT", None))
    fwd.append(("-d 10.244.0.0/16 -o cni0 -j ACCEPT", None))
    nat["POSTROUTING"].append(("-m mark --mark 0x4000/0x4000 -j MASQUERADE --random-fully", None))

    # ---------------------------------------------------------------- mangle
    mangle = {"PREROUTING": [], "INPUT": [], "FORWARD": [], "OUTPUT": [], "POSTROUTING": []}
    mangle["FORWARD"].append(("-p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu", None))
    for s in S[:40]:
        mangle["PREROUTING"].append(("-s 10.%d.0.0/16 -i eth1 -j MARK --set-xmark 0x%x/0xff" % (s, s), None))

    # ---------------------------------------------------------------- write
    builtin = {"filter": ["INPUT", "FORWARD", "OUTPUT"],
               "nat": ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
               "mangle": ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"]}
    policy = {("filter", "INPUT"): "DROP", ("filter", "FORWARD"): "DROP"}
    marks = {}
    for table, tchains in [("mangle", mangle), ("filter", chains), ("nat", nat)]:
        d.add("# Generated by iptables-save v1.8.9 (nf_tables) on Mon Nov 30 01:30:00 2026")
        d.add("*" + table)
        order = builtin[table] + sorted(c for c in tchains if c not in builtin[table])
        for c in order:
            if c in builtin[table]:
                pk = rnd.randint(1000, 9999999)
                d.add(":%s %s [%d:%d]" % (c, policy.get((table, c), "ACCEPT"), pk, pk * 600))
            else:
                d.add(":%s - [0:0]" % c)
        for c in order:
            for spec, mark in tchains.get(c, []):
                line = d.rule(c, spec)
                if mark is not None:
                    marks.setdefault(mark if isinstance(mark, str) else mark[0], []).append((line, mark, c, spec))
        d.add("COMMIT")
        d.add("# Completed on Mon Nov 30 01:30:00 2026")

    # Expected findings, from the planted marks.
    exp = []
    shadowers = {m[1]: m for m in marks.get("range-shadower", [])}
    for line, mark, c, spec in marks.get("range-victim", []):
        sh = shadowers[("range-shadower", mark[1])]
        exp.append(("unreachable", "warning", line, [sh[0]], "%s: host exception under a /24 telnet drop" % c))
    lsh = {m[1]: m for m in marks.get("logdrop-shadower", [])}
    for line, mark, c, spec in marks.get("logdrop-victim", []):
        sh = lsh[("logdrop-shadower", mark[1])]
        exp.append(("unreachable", "warning", line, [sh[0]], "%s: accept after a jump to logdrop (LOG, then DROP)" % c))
    dup = marks.get("duplicate", [])
    if dup:
        # The planted copy sits before its original's position? No: inserted at index 3, the original is index 1.
        tc = [ln for ln in range(len(d.lines)) if d.lines[ln].endswith("-A tcpflags -p tcp -m tcp --tcp-flags FIN,SYN FIN,SYN -j logdrop")]
        exp.append(("unreachable", "warning", tc[1] + 1, [tc[0] + 1], "tcpflags: exact duplicate of an opaque --tcp-flags rule"))
    copies = marks.get("copies", [])
    if copies:
        exp.append(("unreachable", "warning", copies[1][0], [copies[0][0]],
                    "OUTPUT: the same rule appended 15 times; one finding, 'and 13 more like it' (lines %d-%d)" % (copies[2][0], copies[-1][0])))
    for line, mark, c, spec in marks.get("dnat-broken", []):
        exp.append(("dnat-without-forward", "error", line, [3 + 0], "DNAT to %s:4444 has no FORWARD accept; dropped by the FORWARD policy DROP" % mark[1][1]))
    for line, mark, c, spec in marks.get("unbalanced", []):
        v, n, proto = mark[1]
        p = int((1.0 / n) * P31 + 0.5) / P31
        exp.append(("independent-probabilities", "error", line, [],
                    "%s (%s, %d endpoints): 1/n on every rule, no unconditional last rule; endpoint i gets p(1-p)^i with"
                    " p = %.11f (the kernel's), %.4f%% of new connections not balanced" % (c, proto, n, p, 100 * (1 - p) ** n)))
    exp.sort(key=lambda e: e[2])
    return d, exp, marks


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--subnets", type=int, default=220)
    ap.add_argument("out")
    ap.add_argument("expected")
    a = ap.parse_args()
    d, exp, marks = build(a.seed, a.subnets)
    with open(a.out, "w") as f:
        f.write("\n".join(d.lines) + "\n")
    rules = sum(1 for l in d.lines if "] -A " in l)
    chains = sum(1 for l in d.lines if l.startswith(":"))
    # Line of the filter FORWARD policy, named by the dnat findings.
    fwd_policy = next(i + 1 for i, l in enumerate(d.lines) if l.startswith(":FORWARD DROP"))
    with open(a.expected, "w") as f:
        f.write("# Expected lint findings for %s (gen-large.py --seed %d --subnets %d)\n" % (a.out, a.seed, a.subnets))
        f.write("dump: %s\nrules: %d\nchains: %d\nnot_understood: 0\nexit: 1\n" % (a.out, rules, chains))
        f.write("# Exactly these findings, nothing else (everything not planted is built to be clean).\n")
        f.write("# A sysadmin expects each planted problem reported once, at the victim, naming the rule that causes it.\n")
        f.write("findings:\n")
        for code, sev, line, related, why in exp:
            if code == "dnat-without-forward":
                related = [fwd_policy]
            f.write("  - {code: %s, severity: %s, line: %d, related: %s, why: \"%s\"}\n" % (code, sev, line, related, why))
        sets = sorted({l.split("--match-set ")[1].split()[0] for l in d.lines if "--match-set " in l})
        f.write("# ipsets the dump refers to (create them before loading it): %s\n" % " ".join(sets))
    print("%s: %d rules, %d chains, %d planted findings" % (a.out, rules, chains, len(exp)), file=sys.stderr)


if __name__ == "__main__":
    main()
