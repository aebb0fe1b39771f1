#!/usr/bin/env bash
# Packs the built server of one Cairn commit as a release fixture for the upgrade tests
# (test/upgrade/): bin/cairn, the compiled JavaScript of apps/server and every lib, their package.json files
# and the .proto files they load at run time; no sources, typings, maps or console. Third-party packages are
# not packed: the tests resolve them from this repo's node_modules (the fixture's releases share its
# dependencies; a release that needs others must pack them too).
#   scripts/pack-release.sh <commit> <out.tgz>
set -euo pipefail
commit="$1"
out="$(realpath -m "$2")"
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'git -C "$repo" worktree remove --force "$work/tree" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

git -C "$repo" worktree add --detach "$work/tree" "$commit" >/dev/null
cd "$work/tree"
# The release's own workspace packages, everything else from this checkout's node_modules.
mkdir -p node_modules/@cairn
for entry in "$repo"/node_modules/* "$repo"/node_modules/.bin; do
  name="$(basename "$entry")"
  [ "$name" = "@cairn" ] || ln -s "$entry" "node_modules/$name"
done
for entry in "$repo"/node_modules/@cairn/*; do
  ln -s "$(readlink "$entry")" "node_modules/@cairn/$(basename "$entry")"
done
npx tsc -b apps/server/tsconfig.build.json
find bin apps/server/dist libs/*/dist libs/*/package.json apps/server/package.json package.json \
  libs/api/proto libs/server/proto -type f \
  ! -name '*.d.ts' ! -name '*.map' ! -name '*.tsbuildinfo' | sort > "$work/files"
tar czf "$out" -T "$work/files"
echo "packed $(wc -l < "$work/files") files of $(git rev-parse --short HEAD) into $out"
