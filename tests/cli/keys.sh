#!/usr/bin/env bash
# keys.sh: key list/add/remove/passwd and the password sources.
source "$(dirname "$0")/lib/common.bash"

export CAIRN_PASSWORD=first-password
ok init

# add a second key; both passwords open the repository
CAIRN_NEW_PASSWORD=second-password ok key add
out_has '^saved new key [0-9a-f]{64}$'
second=$(sed -nE 's/^saved new key ([0-9a-f]{64})$/\1/p' "$OUT")
CAIRN_PASSWORD=second-password ok snapshots
out_has '^0 snapshots$'

ok key list --json
py '
k = doc()
assert len(k) == 2, k
cur = [x for x in k if x["current"]]
assert len(cur) == 1, k
assert args[0] in [x["id"] for x in k if not x["current"]], (args[0], k)
for x in k:
    assert HEX64.match(x["id"]) and x["short_id"] == x["id"][:8], x
    for f in ("username", "hostname", "created"):
        assert f in x, (f, x)
' "$second"
first=$(python3 -c 'import json,sys; print([k["id"] for k in json.load(open(sys.argv[1])) if k["current"]][0])' "$OUT")

ok key list
out_has "^\*${first:0:8} "
out_has "^ ${second:0:8} "

# the key in use cannot be removed
rc_is 1 key remove "$first"
ok key list --json
py 'assert len(doc()) == 2'

# remove the other one by a prefix; its password stops working
ok key remove "${second:0:12}"
CAIRN_PASSWORD=second-password rc_is 12 snapshots
out_empty
ok key list --json
py 'assert len(doc()) == 1'
# the last key cannot be removed, even from a session opened by another
# password (there is none left)
rc_is 1 key remove "$first"

# passwd from a file (one trailing newline is not part of the password)
printf 'third-password\n' >"$T/newpw"
ok key passwd --new-password-file "$T/newpw"
out_has '^saved new password as key [0-9a-f]{64}$'
rc_is 12 snapshots
CAIRN_PASSWORD=third-password ok snapshots
CAIRN_PASSWORD=third-password ok key list --json
py '
k = doc()
assert len(k) == 1 and k[0]["current"] and k[0]["id"] != args[0], k
' "$first"

# password sources: --password-file, CAIRN_PASSWORD_FILE, over CAIRN_PASSWORD
printf 'third-password\n' >"$T/pw"
printf 'third-password' >"$T/pw-no-newline"
ok --password-file "$T/pw" snapshots
ok snapshots --password-file="$T/pw-no-newline"
CAIRN_PASSWORD_FILE=$T/pw ok snapshots
printf 'third-password\n\n' >"$T/pw-two-newlines"
rc_is 12 --password-file "$T/pw-two-newlines" snapshots
rc_is 1 --password-file "$T/no-such-file" snapshots
err_has 'password file'

# a new password must not be empty
: >"$T/empty"
CAIRN_PASSWORD=third-password rc_is 1 key add --new-password-file "$T/empty"
err_has 'empty password'
CAIRN_PASSWORD=third-password ok key list --json
py 'assert len(doc()) == 1'

# a key file of another repository with the same password must neither
# open this one nor hide this one's own key; alone, it is "corrupt", not
# "wrong password"
OTHER=$T/other
CAIRN_PASSWORD=third-password rc_is 0 -r "$OTHER" init
chmod u+w "$REPO/keys"
cp "$OTHER"/keys/* "$REPO/keys/"
CAIRN_PASSWORD=third-password ok snapshots
own=$(CAIRN_PASSWORD=third-password "$CAIRN" key list --json | python3 -c 'import json,sys; print([k["id"] for k in json.load(sys.stdin) if k["current"]][0])')
mv "$REPO/keys/$own" "$T/own-key"
CAIRN_PASSWORD=third-password rc_is 1 snapshots
mv "$T/own-key" "$REPO/keys/$own"
CAIRN_PASSWORD=third-password ok snapshots

note "ok"
