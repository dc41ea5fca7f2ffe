/* The gate's Ed25519 check where WebCrypto has none: older phone browsers, and pages served over
   plain HTTP on a compound's own network, where crypto.subtle does not exist at all. gate.js
   loads this module with import() only then.

   noble-ed25519 2.3.0 and noble-hashes 2.4.0 (SHA-512) are vendored unmodified under vendor/,
   MIT licensed (see the LICENSE files and vendor/README.md). Verification is strict RFC 8032
   (zip215: false), as the server's (OpenSSL through `cryptography`), so both refuse the same
   codes. */
import { etc, verify as nobleVerify } from "./vendor/noble-ed25519/index.js";
import { sha512 } from "./vendor/noble-hashes/sha2.js";

etc.sha512Sync = function () {
  return sha512(etc.concatBytes.apply(null, arguments));
};

export function verify(signature, message, publicKey) {
  try {
    return nobleVerify(signature, message, publicKey, { zip215: false });
  } catch (_error) {
    return false;   // a signature of the wrong length or a point off the curve: not ours
  }
}
