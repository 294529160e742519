#!/usr/bin/env bash
# Fuzz smoke run (called by CI): builds seed corpora, then runs every target
# for FUZZ_SECONDS (default 60) seconds. Exits non-zero if any target found a
# crash (its input is then in fuzz/artifacts/<target>/).
#
#   bash fuzz/run-smoke.sh                 # all targets
#   FUZZ_SECONDS=300 bash fuzz/run-smoke.sh decode block
#
# Seeds come from testdata/ and, when present, ../shared/corpus/kvs-recordings
# (copied at run time, never committed: fuzz/corpus is gitignored).
set -euo pipefail
cd "$(dirname "$0")"
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
ALL=(decode decode_split decode_weak element_header element_reader block tag_values sigv4_verify)
if [ $# -gt 0 ]; then TARGETS=("$@"); else TARGETS=("${ALL[@]}"); fi

if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
# Nightly gives AddressSanitizer (it catches little in a forbid(unsafe) crate,
# but it is free); stable works without a sanitizer.
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  FUZZ=(cargo +nightly fuzz)
  SANITIZER=()
else
  FUZZ=(cargo fuzz)
  SANITIZER=(--sanitizer none)
fi

# --- seed corpora -----------------------------------------------------------
seed() { # seed TARGET NAME  (bytes on stdin)
  mkdir -p "corpus/$1"
  cat >"corpus/$1/seed-$2"
}
recordings=../../shared/corpus/kvs-recordings
streams=(../testdata/sample.mkv)
if [ -d "$recordings" ]; then
  streams+=("$recordings"/*.mkv)
else
  echo "fuzz: $recordings not found; seeding from testdata/ only" >&2
fi
for f in "${streams[@]}"; do
  name=$(basename "$f" .mkv)
  # Small inputs run fast: whole files up to 64 KiB, else the head (EBML
  # header, tracks, tags, first blocks) and the tail (trailing tags, Cues).
  if [ "$(wc -c <"$f")" -le 65536 ]; then
    seed decode "$name" <"$f"
  else
    head -c 16384 "$f" | seed decode "$name-head16k"
    head -c 65536 "$f" | seed decode "$name-head64k"
    tail -c 8192 "$f" | seed decode "$name-tail8k"
  fi
  head -c 16384 "$f" | { printf '\x03\x00\x6f\xf1\x05'; cat; } | seed decode_split "$name-head16k"
  head -c 4096 "$f" | { printf '\x00\x00'; cat; } | seed decode_split "$name-bytes"
  head -c 16384 "$f" | { printf '\x07'; cat; } | seed decode_weak "$name-head16k"
  head -c 4096 "$f" | { printf '\x00'; cat; } | seed decode_weak "$name-bytes"
  head -c 64 "$f" | seed element_header "$name"
  head -c 8192 "$f" | { printf '\x02\x00\x6f\xf1'; cat; } | seed element_reader "$name-head8k"
  head -c 8192 "$f" | { printf '\x80\x10'; cat; } | seed element_reader "$name-small-limits"
done
printf '\x1f\x43\xb6\x75\x01\xff\xff\xff\xff\xff\xff\xff' | seed element_header cluster-unknown
printf '\xa3\x10\x00\x00\x00\x00\x00\x00\x00' | seed element_header size-8
printf '\x81\x00\x21\x80\xaa\xbb\xcc' | seed block plain
printf '\x81\x00\x00\x02\x02\xff\x2d\x02xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' | seed block xiph
printf '\x81\x00\x00\x06\x02\x8a\xc1xxxxxxxxxxxxxxxxxxxxxxxxxxx' | seed block ebml
printf '\x81\x00\x00\x04\x03xxxxxxxx' | seed block fixed
printf '91343852333181432392682062607743920146159169392\n91343852333181432392682062607743920146159169400' | seed tag_values fragments
printf '1511852109.126\n0.000' | seed tag_values timestamps
printf '18446744073709551615.999999999\n7.000000001' | seed tag_values extremes

# --- run --------------------------------------------------------------------
"${FUZZ[@]}" build -O "${SANITIZER[@]}"
failed=()
for t in "${TARGETS[@]}"; do
  case $t in
    decode) max_len=131072 ;;
    # Each input is decoded three or four times, up to byte by byte: keep
    # it small.
    decode_split | decode_weak | element_reader) max_len=16384 ;;
    *) max_len=4096 ;;
  esac
  echo "fuzz: $t for ${FUZZ_SECONDS}s"
  if ! "${FUZZ[@]}" run -O "${SANITIZER[@]}" "$t" -- \
      -max_total_time="$FUZZ_SECONDS" -max_len="$max_len" -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 >"corpus/$t.log" 2>&1; then
    failed+=("$t")
    tail -n 40 "corpus/$t.log"
  else
    grep -E '^(stat::number_of_executed_units|stat::new_units_added)' "corpus/$t.log" | sed "s/^/fuzz: $t /" || true
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: crashes in: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
  exit 1
fi
echo "fuzz: ${#TARGETS[@]} targets, no crash"
