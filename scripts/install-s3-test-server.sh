#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Installs s3rver, the S3-compatible server that stores_remote_s3_test starts on loopback, into
# .cache/s3rver/ (git-ignored). Needs Node.js and npm. Quick and quiet when already installed.
#
# Two fixes are applied to the installed copy, so that it keeps the promises S3 makes (the test
# also runs it with NODE_OPTIONS=--openssl-legacy-provider, which its ListObjectsV2 continuation
# tokens need under OpenSSL 3):
#   * a ranged GET of an empty object answered 206 with Content-Length 1 and no body (S3 answers
#     416); the patched copy answers 416.
#   * a PUT wrote the object file in place and answered before the write finished, so a GET
#     could see a partial object; the patched copy writes a temporary file, waits for it, and
#     renames it into place.
#   * a PUT rewrote the object's .md5 and metadata.json files in place, so a GET racing a PUT of
#     the same key could read a half-written metadata.json and answer 500; the patched copy
#     writes both to temporary files and renames them into place.
set -euo pipefail

readonly VERSION=3.7.1
readonly ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly DIR="${ROOT}/.cache/s3rver"
readonly STAMP="${DIR}/installed-${VERSION}-patch3"

if [[ -f "${STAMP}" && -x "${DIR}/node_modules/.bin/s3rver" ]]; then
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "install-s3-test-server.sh: npm not found (apt-get install nodejs npm)" >&2
  exit 1
fi

mkdir -p "${DIR}"
npm install --prefix "${DIR}" --no-audit --no-fund --loglevel=error --no-save "s3rver@${VERSION}"

# The fixes, done by node (present with npm); each fails the script when its text is missing.
node - "${DIR}/node_modules/s3rver/lib/stores/filesystem.js" <<'JS'
const fs = require('fs');
const path = process.argv[2];
let text = fs.readFileSync(path, 'utf8');
function patch(before, after) {
  if (text.includes(after)) return;
  if (!text.includes(before)) throw new Error(`${path}: missing ${before}`);
  text = text.replace(before, after);
}
patch("const lastByte = Math.max(0, Number(metadata['content-length']) - 1);",
      "const lastByte = Math.max(options && (options.start !== undefined || options.end) " +
      "? -1 : 0, Number(metadata['content-length']) - 1);  // dittofs: 416 for empty objects");
patch("      const writeStream = fs.createWriteStream(objectPath);\n",
      "      const tmpPath = `${objectPath}.dittofs-tmp-${process.hrtime.bigint()}`;  // dittofs\n" +
      "      const writeStream = fs.createWriteStream(tmpPath);\n" +
      "      const done = resolve;\n" +
      "      resolve = result => writeStream.on('error', reject).on('finish', () =>\n" +
      "        fs.rename(tmpPath, objectPath).then(() => done(result), reject));\n");
patch("    if (md5) await fs.writeFile(md5Path, md5);\n" +
      "    await fs.writeFile(metadataPath, JSON.stringify(json, null, 2));\n",
      "    const atomic = async (file, data) => {  // dittofs: write aside, then rename\n" +
      "      const tmp = `${file}.dittofs-tmp-${process.hrtime.bigint()}`;\n" +
      "      await fs.writeFile(tmp, data);\n" +
      "      await fs.rename(tmp, file);\n" +
      "    };\n" +
      "    if (md5) await atomic(md5Path, md5);\n" +
      "    await atomic(metadataPath, JSON.stringify(json, null, 2));\n");
fs.writeFileSync(path, text);
JS

touch "${STAMP}"
echo "s3rver ${VERSION} installed in ${DIR}"
