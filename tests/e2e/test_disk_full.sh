#!/usr/bin/env bash
# A full disk while w2s writes HDF5 (docs/reliability.md, "Output folders and full disks"): the
# command ends with exit 3 and one line naming the file and "No space left on device" (no crash
# in HDF5's shutdown, which used to end such runs with a segfault, 139), and the previous good
# file is unchanged. The disk is a small tmpfs mounted for the test (as root, or as root of a
# user namespace); where neither is allowed the test is skipped (77).
if [ -z "${W2S_DISK_FULL_NS:-}" ]; then
  probe=$(mktemp -d)
  if mount -t tmpfs -o size=1m tmpfs "$probe" 2> /dev/null; then
    umount "$probe"
  elif command -v unshare > /dev/null && unshare --user --map-root-user --mount true 2> /dev/null; then
    rmdir "$probe"
    W2S_DISK_FULL_NS=1 exec unshare --user --map-root-user --mount bash "$0" "$@"
  else
    rmdir "$probe"
    echo "SKIP: cannot mount a tmpfs here (not root, no user namespaces)"
    exit 77
  fi
  rmdir "$probe"
fi
source "$(dirname "$0")/lib_tiny.sh"
make_task data 120 40
"$W2S_BIN" prepare --train data/train.jsonl --test data/test.jsonl --out-dir data/split --tokenizer byte \
  --max-len 64 --seed 0 > prepare.log
write_tiny_model tiny.ini
sha() { sha256sum "$1" | cut -d' ' -f1; }

disk="$TMP/disk"
mkdir -p "$disk"
mount -t tmpfs -o size=4m tmpfs "$disk" || fail "cannot mount the test tmpfs"
trap 'umount -l "$disk" 2> /dev/null || true' EXIT

# fill_leaving BYTES: fills the tmpfs until only BYTES are free.
fill_leaving() {
  rm -f "$disk/filler"
  local avail
  avail=$(df --output=avail -B1 "$disk" | tail -1)
  [ "$avail" -gt "$1" ] || fail "the test disk has only $avail bytes free"
  head -c $((avail - $1)) /dev/zero > "$disk/filler"
  sync
}

# expect_disk_full LOG FILE: exit 3, one error line naming FILE and the OS reason.
expect_disk_full() {
  [ "$rc" -ne 139 ] || fail "segfault (exit 139): $(tail -3 "$1")"
  [ "$rc" -eq 3 ] || fail "exit $rc, expected 3: $(tail -3 "$1")"
  grep -q "error: .*$2.*No space left on device" "$1" || fail "the error does not name $2 and the OS reason: $(tail -3 "$1")"
  [ "$(grep -c 'error:' "$1")" -eq 1 ] || fail "more than one error line: $(cat "$1")"
  ls "$disk"/run/*.tmp.* "$disk"/*.tmp.* > /dev/null 2>&1 && fail "temporary files left behind: $(ls -R "$disk")"
  return 0
}

echo "checkpoint: a resumed run whose final checkpoint does not fit"
train=(train --data data/split/train_a.h5 --model tiny.ini --steps 6 --batch-size 16 --lr 3e-3 --log-every 1)
"$W2S_BIN" "${train[@]}" --run-dir "$disk/run" --stop-after 3 > first.log
good=$(sha "$disk/run/ckpt.h5")
fill_leaving 65536
set +e
"$W2S_BIN" "${train[@]}" --run-dir "$disk/run" --resume > full.log 2>&1; rc=$?
set -e
expect_disk_full full.log "ckpt.h5"
[ "$(sha "$disk/run/ckpt.h5")" = "$good" ] || fail "the step-3 checkpoint changed"
rm -f "$disk/filler"
"$W2S_BIN" "${train[@]}" --run-dir "$disk/run" --resume > again.log 2>&1 || fail "cannot resume once space is back: $(tail -2 again.log)"
grep -q "resuming .*run at step 3/6" again.log || fail "did not resume from step 3: $(cat again.log)"
check "exit 3 naming ckpt.h5 and 'No space left on device'; the step-3 checkpoint intact and resumable"

echo "predictions: a small file whose data only reaches the disk when it is closed"
"$W2S_BIN" eval --model "$disk/run/ckpt.h5" --data data/split/test.h5 --out "$disk/predictions.h5" > eval1.log
good=$(sha "$disk/predictions.h5")
fill_leaving 8192  # room for the file's first pages: the failure comes when HDF5 closes it
set +e
"$W2S_BIN" eval --model "$disk/run/ckpt.h5" --data data/split/test.h5 --out "$disk/predictions.h5" > eval2.log 2>&1; rc=$?
set -e
expect_disk_full eval2.log "predictions.h5"
[ "$(sha "$disk/predictions.h5")" = "$good" ] || fail "the previous predictions changed"
check "exit 3 naming predictions.h5 and 'No space left on device'; the previous predictions intact"
echo "PASS"
