#!/usr/bin/env python3
"""Writes the seed corpus of the .nmm parser fuzz target (tests/fuzz/corpus/).

Run from the repository root: python3 tests/fuzz/make_corpus.py SPEC/nmm-format.md
The section-16 example models come from the format specification; the other inputs
are hand-made edge cases (deep nesting, odd bytes, line endings, truncation). The
output is deterministic. Crashers found by fuzzing are added by hand: open ones to
crashers/, fixed ones to corpus/ (named crash-*)."""
import random
import re
import sys
from pathlib import Path

out = Path("tests/fuzz/corpus")
out.mkdir(parents=True, exist_ok=True)
spec = Path(sys.argv[1]).read_text(encoding="utf-8")

examples = {}
for m in re.finditer(r"### 16\.\d `(\w+)\.nmm`\n```\n(.*?)```", spec, re.S):
    examples[m.group(1)] = m.group(2).encode()
assert len(examples) == 4, examples.keys()


def put(name, data):
    (out / name).write_bytes(data if isinstance(data, bytes) else data.encode())


for k, v in examples.items():
    put(f"ex_{k}.nmm", v)
rww, kur = examples["rww"], examples["kuramoto"]

# truncations: mid-file, mid-token, inside the fic block, inside a string, after '='
put("trunc_half_rww.nmm", rww[: len(rww) // 2])
put("trunc_mid_token.nmm", kur[: kur.index(b"uniform") + 4])
put("trunc_in_fic.nmm", rww[: rww.index(b"iterative    =") + 20])
put("trunc_in_string.nmm", rww[: rww.index(b"Reduced") + 7])
put("trunc_after_eq.nmm", b"model m\nparam G =")

# mangled: deterministic byte flips, deletions and duplications of rww
rng = random.Random(1234)
for n in range(3):
    b = bytearray(rww)
    for _ in range(12):
        p = rng.randrange(len(b))
        op = rng.randrange(3)
        if op == 0:
            b[p] = rng.randrange(256)
        elif op == 1:
            del b[p : p + rng.randrange(1, 8)]
        else:
            b[p:p] = b[p : p + rng.randrange(1, 16)]
    put(f"mangled_rww_{n}.nmm", bytes(b))

# deep nesting
head = "model deep\nstate x = 0\nd/dt x = -x\n"
put("deep_parens.nmm", head + "let y = " + "(" * 5000 + "x" + ")" * 5000 + "\noutput y\n")
put("deep_open_parens.nmm", head + "let y = " + "(" * 100000 + "\n")
put("deep_unary.nmm", head + "let y = " + "-" * 100000 + "x\noutput y\n")
put("deep_pow.nmm", head + "let y = " + "x^" * 20000 + "2\noutput y\n")
put("deep_calls.nmm", head + "let y = " + "exp(" * 5000 + "x" + ")" * 5000 + "\noutput y\n")
put("deep_brackets.nmm", head + "param p " + "[" * 20000 + "\n")
put("deep_record.nmm", "model m\nfic p {\n x = " + "(a = " * 3000 + "1" + ")" * 3000 + "\n}\n")
put("deep_funcs.nmm", head + "".join(f"func f{i}(a) = f{i+1}(a) + 1\n" for i in range(1000))
    + "func f1000(a) = a\nlet y = f0(x)\noutput y\n")
def let_chain(n):
    return (head + "".join(f"let l{i} = l{i+1} + 1\n" for i in range(n))
            + f"let l{n} = x\noutput l0\n")


put("let_chain.nmm", let_chain(300))

# odd bytes and encodings
put("odd_bytes.nmm", b"model \x00m\nparam G = 1\x00\xff\xfe\nstate x = 0\n\x80\xbf\xc0\xaf\n")
put("invalid_utf8_comment.nmm", b"model m  # \xc3\x28 \xe2\x82 \xf0\x9f\x98\n")
put("all_bytes.nmm", bytes(range(256)) * 4)
put("crlf_kuramoto.nmm", kur.replace(b"\n", b"\r\n"))
put("lone_cr.nmm", kur.replace(b"\n", b"\r"))
put("bom_kuramoto.nmm", b"\xef\xbb\xbf" + kur)
put("double_bom.nmm", b"\xef\xbb\xbf\xef\xbb\xbf" + kur)
put("greek.nmm", "model greek\nparam σ = 0.1  # σ in a comment is fine\n"
    "state θ [rad] = 0\ndoc \"Ωμέγα in a string\"\nd/dt θ = σ\nlet τ_E = 1\n")
put("empty.nmm", b"")
put("comments_only.nmm", b"# nothing\n   # here\n\n\t\n")
put("long_ident.nmm", "model " + "a" * 5000 + "\n")
put("numbers.nmm", "model m\nparam a = " + "9" * 400 + "\nparam b = 1e99999\nparam c = .5e-400\n"
    "param d = 1e\nparam e = 0x1p3\nparam f = 1..2\nparam g = 1e+\n")
put("strings.nmm", 'model m\ndoc "a\\"b\\\\c"\ndoc "bad \\n escape"\ndoc "unterminated\ncite ""\n')
put("bad_operators.nmm", head + "let y = x ** 2 % 3 && x || !x\nlet z = x'\nd/dt x = 1\n")
put("line_continuation.nmm", head + "let y = x +\n  x *\n  (x\n  - 1)\n+ 2\noutput y\n")
put("units.nmm", "model m\nparam a [m^-99999] = 1\nparam b [((((s))))] = 1\n"
    "param c [kHz*Ohm/mol^2] = 1\nparam d [] = 1\nparam e [1/1/1] = 1\nparam f [q] = 1\n"
    "state x [mV] = 5[mV]\nd/dt x = a*b*c*d*e*f\n")
put("fic_variants.nmm", rww.replace(b"effect", b"effect = increasing\n  effect") + b"fic S_E {\n"
    + b"fic x { method = iterative\n iterative = (tol = [1, 2], window = (a = 1))\n")
put("names.nmm", head + "param x = 1\nparam in = 2\nlet sum_j = 3\nfunc f(x, x) = x\nfunc g() = 1\n"
    "coupling c = sum_j(sum_j(W[i,j]))\ncoupling d = W[j,i] + x[j]\nnoise x, x ~ 1\nbold\noutput\n")
put("cycles.nmm", head + "let a = b\nlet b = c\nlet c = a\nfunc f(y) = g(y)\nfunc g(y) = f(y)\n"
    "let d = f(x)\n")
put("builtins.nmm", head + "let y = exp(x)+expm1(x)+log(x)+log1p(x)+log10(x)+sqrt(x)+sin(x)+cos(x)"
    "+tan(x)+asin(x)+acos(x)+atan(x)+sinh(x)+cosh(x)+tanh(x)+erf(x)+abs(x)+floor(x)+ceil(x)"
    "+sign(x)+sigmoid(x)+heaviside(x)+relu(x)+atan2(x,1)+mod(x,2)+min(x,1)+max(x,1)"
    "+clamp(x,0,1)+if(x > 0 and not x < 1 or x == 2, 1, 0)+exp()+exp(1,2)+if(x,1,2)\noutput y\n")
put("many_params.nmm", "model big\n" + "".join(f"param p{i} = {i} in [0, {i + 1}] regional\n"
                                               for i in range(1000)))
put("folding.nmm", "model m\nparam a = 1/0\nparam b = log(-1)\nparam c = 2 in [3, 1]\n"
    "param d = 1 in [0, 2] log\nstate x = 2 clamp [0, 1]\nstate y = 0 wrap [0, inf]\n"
    "state z = uniform(1, normal(0, 1))\nd/dt x = 0\n")
# Known crashers of the front end, kept apart from the corpus (which the test
# fuzz_corpus replays) until fixed; then they move into corpus/. See tests/fuzz/README.md.
crash = Path("tests/fuzz/crashers")
crash.mkdir(parents=True, exist_ok=True)
(crash / "stack_overflow_let_chain_2000.nmm").write_bytes(let_chain(2000).encode())
print(f"{len(list(out.iterdir()))} files in {out}")
