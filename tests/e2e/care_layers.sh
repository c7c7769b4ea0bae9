#!/usr/bin/env bash
# care_layers.sh - the shape of bot/care (issue 12): one owner for outbound messages
# (care/reply.c is the only caller of a transport's ops), no include cycle among care/'s
# modules, happ_dispatch defined where it is declared, no switch of the process time zone, no
# file over ~900 lines.
. "$(dirname "$0")/lib.bash"

care="$SRC/bot/care"

# 1. Only reply.c calls a transport's ops.
ops=$(grep -lE 'ops->(reply|post|post_private|send_file)\b' "$care"/*.c | xargs -rn1 basename | grep -vx reply.c || true)
equal "files in care/ other than reply.c that call a transport's ops" "$ops" ""

# 2. No include cycle among care/'s modules. A module is a .c file with its header; the mood
#    family (mood*.c with mood.h and its internal mood_store.h) is one module.
cycles=$(python3 - "$care" <<'PY'
import os, re, sys
d = sys.argv[1]
def mod(name):
    return "mood" if name.startswith("mood") else name
g = {}
for f in sorted(os.listdir(d)):
    if not f.endswith((".c", ".h")):
        continue
    m = mod(f.rsplit(".", 1)[0])
    text = open(os.path.join(d, f)).read()
    deps = {mod(x) for x in re.findall(r'#include\s+"care/([A-Za-z0-9_]+)\.h"', text)}
    g.setdefault(m, set()).update(x for x in deps if x != m)
index, low, stack, on, out, n = {}, {}, [], set(), [], [0]
def visit(v):
    index[v] = low[v] = n[0]; n[0] += 1; stack.append(v); on.add(v)
    for w in sorted(g.get(v, ())):
        if w not in index:
            visit(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v:
                break
        if len(comp) > 1:
            out.append(" ".join(sorted(comp)))
for v in sorted(g):
    if v not in index:
        visit(v)
print("\n".join(out))
PY
)
equal "include cycles among care/ modules" "$cycles" ""

# 3. happ_dispatch is defined where it is declared (core/app.h -> core/app.c).
expect "happ_dispatch defined in core/app.c" "$(grep -n '^int happ_dispatch' "$SRC/bot/core/app.c" || true)" "happ_dispatch"
equal "happ_dispatch defined anywhere else" "$(grep -rln --include='*.c' '^int happ_dispatch' "$SRC/bot" | grep -v 'core/app.c' || true)" ""

# 4. Nothing in bot/ switches the process's time zone (core/tz.c converts between zones).
equal "setenv(\"TZ\") or tzset in bot/" "$(grep -rnE 'setenv\("TZ"|tzset\(' "$SRC/bot" || true)" ""

# 5. No file in bot/ over the ~900-line cap (mood.c was split into mood.c and mood_views.c).
equal "files in bot/ over 900 lines" "$(find "$SRC/bot" -name '*.[ch]' -exec awk 'END { if (NR > 900) print FILENAME ": " NR }' {} \;)" ""

# 6. SQL parameters in care/ are bound by the one binder (store_stmtf/store_runf/store_count).
equal "hand-bound SQL in care/" "$(grep -n 'sqlite3_bind_' "$care"/*.c || true)" ""
# 7. hmsg.ref is typed (struct hmsg_ref), not an opaque pointer a transport casts.
equal "void pointer ref in core/msg.h" "$(grep -n 'void \*ref' "$SRC/bot/core/msg.h" || true)" ""
equal "casts of hmsg.ref" "$(grep -rn '\*) *in->ref\|\*)m->ref' "$SRC/bot" || true)" ""

finish
