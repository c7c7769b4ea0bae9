#!/usr/bin/env python3
"""promtext.py - a small, strict parser of the Prometheus text exposition format (0.0.4), for
the tests: `python3 promtext.py URL_OR_FILE` prints one line per sample, `NAME{labels} VALUE`,
with labels sorted, and exits 1 on any line that is not valid. Also importable: parse(text)."""
import re
import sys
import urllib.request

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(rf"^({NAME})(?:\{{((?:{LABEL})(?:,{LABEL})*)?\}})? (\S+)(?: -?\d+)?$")
META = re.compile(rf"^# (HELP|TYPE) ({NAME})(?: (.*))?$")


def parse(text):
    """Returns (families {name: type}, samples [(name, {label: value}, float)])."""
    families, samples, helps = {}, [], set()
    if not text.endswith("\n"):
        raise ValueError("the exposition must end with a newline")
    for n, line in enumerate(text.split("\n")[:-1], 1):
        if not line:
            continue
        m = META.match(line)
        if m:
            kind, name, rest = m.groups()
            if kind == "TYPE":
                if rest not in ("counter", "gauge", "histogram", "summary", "untyped"):
                    raise ValueError(f"line {n}: bad type {rest!r}")
                if name in families:
                    raise ValueError(f"line {n}: second TYPE for {name}")
                families[name] = rest
            else:
                if name in helps:
                    raise ValueError(f"line {n}: second HELP for {name}")
                helps.add(name)
            continue
        if line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            raise ValueError(f"line {n}: not a sample: {line!r}")
        name, labels, value = m.groups()
        lab = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', labels or ""))
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        fam = name if name in families else base
        if fam not in families:
            raise ValueError(f"line {n}: sample {name} before its TYPE")
        if families[fam] == "histogram" and name == fam:
            raise ValueError(f"line {n}: histogram sample without _bucket/_sum/_count")
        samples.append((name, lab, float(value)))
    return families, samples


def main():
    src = sys.argv[1]
    if src.startswith("http"):
        with urllib.request.urlopen(src, timeout=5) as r:
            if r.headers.get("Content-Type", "").split(";")[0] != "text/plain":
                print("bad content type", r.headers.get("Content-Type"), file=sys.stderr)
                return 1
            text = r.read().decode("utf-8")
    else:
        text = open(src, encoding="utf-8").read()
    try:
        families, samples = parse(text)
    except ValueError as e:
        print("invalid exposition:", e, file=sys.stderr)
        return 1
    for name, typ in sorted(families.items()):
        print(f"# {name} {typ}")
    for name, lab, value in samples:
        ls = ",".join(f'{k}="{v}"' for k, v in sorted(lab.items()))
        print(f"{name}{{{ls}}} {value:.17g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
