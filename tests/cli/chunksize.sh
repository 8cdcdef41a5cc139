#!/usr/bin/env bash
# chunksize.sh: init --chunk-size-stream / --chunk-size-files: the sizes
# land in the config, a small stream chunker cuts a stream into many more
# blobs than the default, and triples breaking the format's rules are
# refused with exit 1 and no repository.
source "$(dirname "$0")/lib/common.bash"

head -c 1048576 /dev/urandom >"$T/rand"

# blob_count REPO: total_blob_count of cairn stats --json
blob_count() {
	"$CAIRN" -r "$1" --json stats >"$OUT" 2>"$ERR" || { show_output; fail "stats failed"; }
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["total_blob_count"])' "$OUT" ||
		fail "stats --json lacks total_blob_count"
}

ok -r "$T/default" init
ok -r "$T/small" init --chunk-size-stream 256,1K,4096 --chunk-size-files 4K,16KiB,64k
OUT=$T/small/config py '
c = doc()["chunker"]
assert c["stream"] == {"min": 256, "avg": 1024, "max": 4096}, c
assert c["files"] == {"min": 4096, "avg": 16384, "max": 65536}, c
'

for r in default small; do
	ok -r "$T/$r" backup --stdin --stdin-filename rand.bin <"$T/rand"
	ok -r "$T/$r" check
	"$CAIRN" -r "$T/$r" dump latest /rand.bin >"$T/back" 2>"$ERR" || fail "dump from $r failed: $(cat "$ERR")"
	cmp -s "$T/rand" "$T/back" || fail "dump from $r differs from the input"
done
nd=$(blob_count "$T/default")
ns=$(blob_count "$T/small")
note "1 MiB stream: $nd blobs with the default chunker, $ns with 256,1K,4096"
# 1 MiB at a 1 KiB average is about 900 chunks; the default (64 KiB) about 16
(( ns >= 500 && ns <= 4096 )) || fail "small chunker gave $ns blobs"
(( ns >= 20 * nd )) || fail "small chunker gave $ns blobs, default $nd: not 20 times more"

# a small files chunker cuts regular files too
mkdir -p "$T/tree"
cp "$T/rand" "$T/tree/f.bin"
before=$(blob_count "$T/small")
ok -r "$T/small" backup "$T/tree"
after=$(blob_count "$T/small")
# the file's content is already stored only if cut alike; 1 MiB at 16 KiB
# average is about 60 new chunks, at the default (1 MiB) 1 or 2
(( after - before >= 30 )) || fail "small files chunker added $((after - before)) blobs"

# the rules of docs/format.md 3, and the syntax
for bad in 256,1000,4096 32,64,128 1K,1K,4K 4K,1K,256 256,1024,128M \
	256,1024 256,1024,4096,8192 256,,4096 ,256,1024 256,1024,4096, \
	x,1K,4K 256,1K,4Kx ''; do
	for opt in --chunk-size-stream --chunk-size-files; do
		rc_is 1 -r "$T/bad" init "$opt" "$bad"
		err_has "bad $opt"
		err_has "power of two"
		[[ ! -e $T/bad ]] || fail "init $opt '$bad' left a repository"
	done
done
rc_is 1 -r "$T/bad" init --chunk-size-stream
# extremes allowed by the format
ok -r "$T/edge" init --chunk-size-stream 64,128,129 --chunk-size-files 16M,32M,64M
rm -rf "$T/edge"
ok -r "$T/edge" init --chunk-size-files 64,65536,64M

note "ok"
