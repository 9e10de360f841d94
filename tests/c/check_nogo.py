"""Static half of the "data path never enters Go" proof (make test-c-nogo).

Disassembles build/libsslbio.so and follows every direct call and jump from
each exported sslbio_ function, transitively, inside the library. The walk
fails if it reaches Go code: an address inside [runtime.text, runtime.etext)
(where the Go linker puts every Go function and the runtime's assembly,
crosscall2 included) or a cgo trampoline (crosscall*, _cgo_*, x_cgo_*).
Addresses taken with lea (function pointers, e.g. the callback pump's
operations) count as edges too, so do string constants, which are harmless:
they are neither Go text nor trampolines. Calls through the PLT leave the library (libssl, libcrypto, libc) and are
not followed. Indirect calls are listed: the only ones in the engine are the
application's transport callbacks. The dynamic half (check_nogo.gdb) counts
crosscall2/cgocallback hits while a real transfer runs.
"""
import re
import subprocess
import sys

lib = sys.argv[1] if len(sys.argv) > 1 else "build/libsslbio.so"

syms = {}
for line in subprocess.run(["nm", lib], capture_output=True, text=True, check=True).stdout.splitlines():
    parts = line.split()
    if len(parts) == 3:
        syms[parts[2]] = int(parts[0], 16)
go_lo, go_hi = syms["runtime.text"], syms["runtime.etext"]
public = sorted(
    l.split()[2]
    for l in subprocess.run(["nm", "-D", "--defined-only", lib], capture_output=True, text=True,
                            check=True).stdout.splitlines()
    if l.split()[2].startswith("sslbio_"))

func_re = re.compile(r"^([0-9a-f]+) <(.+)>:$")
branch_re = re.compile(r"^\s*([0-9a-f]+):\s+(call|jmp|j[a-z]+)\s+([0-9a-f]+) <([^>]+)>")
indirect_re = re.compile(r"^\s*([0-9a-f]+):\s+(call|jmp)\s+\*")
# address taken (lea sym(%rip)): function pointers such as the pump's ops
lea_re = re.compile(r"^\s*[0-9a-f]+:\s+lea\s+.*#\s*([0-9a-f]+) <([^>+]+)>$")
edges, indirect, start = {}, {}, {}
cur = None
dis = subprocess.run(["objdump", "-d", "--no-show-raw-insn", lib], capture_output=True, text=True,
                     check=True).stdout
for line in dis.splitlines():
    m = func_re.match(line)
    if m:
        cur = m.group(2)
        start[cur] = int(m.group(1), 16)
        edges.setdefault(cur, set())
        continue
    if cur is None:
        continue
    m = branch_re.match(line)
    if m:
        target = m.group(4).split("+")[0]
        if target != cur:
            edges[cur].add((target, int(m.group(3), 16)))
        continue
    m = lea_re.match(line)
    if m:
        edges[cur].add((m.group(2), int(m.group(1), 16)))
        continue
    if indirect_re.match(line) and "jmp" not in line.split()[1:2]:
        indirect.setdefault(cur, 0)
        indirect[cur] += 1


def is_go(name, addr):
    return go_lo <= addr < go_hi or re.match(r"^(crosscall|x_crosscall|_cgo_|x_cgo_)", name) is not None


seen, bad, todo = set(), [], [(p, syms.get(p, 0)) for p in public]
while todo:
    name, addr = todo.pop()
    if name in seen:
        continue
    seen.add(name)
    if "@plt" in name:
        continue
    if is_go(name, addr):
        bad.append(name)
        continue
    for target, taddr in edges.get(name, ()):
        todo.append((target, taddr))

internal = sorted(n for n in seen if "@plt" not in n)
external = sorted({n.split("@")[0] for n in seen if "@plt" in n})
print(f"nogo/static: {len(public)} public functions reach {len(internal)} functions in the "
      f"library and {len(external)} external ones (libssl/libcrypto/libc)")
ind = {f: n for f, n in indirect.items() if f in seen}
print("nogo/static: indirect calls in the closure:",
      ", ".join(f"{f} ({n})" for f, n in sorted(ind.items())) or "none")
if bad:
    print("nogo/static: FAIL: the C API reaches Go code:", ", ".join(sorted(bad)))
    sys.exit(1)
print("nogo/static: ok (no path from the C API into Go code or cgo trampolines)")
