// Both directions of SD-JWT interoperability, with the OpenWallet Foundation's libraries
// (@sd-jwt/sd-jwt-vc, @sd-jwt/crypto-nodejs) as the independent implementation. Run by
// crates/credentials/tests/interop.rs, which gives on standard input:
//
//   { "issuer": <public JWK of the Civitas issuer>, "presentation": <a Civitas presentation
//     bound to the verifier>, "holder": <private JWK of a holder key>, "audience", "nonce",
//     "now": <seconds> }
//
// and reads on standard output:
//
//   { "verified": <the claims this library verified in the Civitas presentation>,
//     "kb": <the key binding's payload>, "issuer": <public JWK of the key this library issued
//     with>, "issued": <its SD-JWT VC, all disclosures>, "presentation": <its presentation of
//     age_over_18 and address.locality, bound to the verifier with the holder key> }
import { SDJwtVcInstance } from "@sd-jwt/sd-jwt-vc";
import { ES256, digest, generateSalt } from "@sd-jwt/crypto-nodejs";

const input = JSON.parse(await new Promise((resolve) => {
  let text = "";
  process.stdin.on("data", (chunk) => { text += chunk; });
  process.stdin.on("end", () => resolve(text));
}));

// The holder's key is the credential's cnf.jwk: the binding is checked with it.
const kbVerifier = async (data, signature, payload) => {
  const verify = await ES256.getVerifier(payload.cnf.jwk);
  return verify(data, signature);
};

// 1. What Civitas issued and its holder presented verifies here.
const verifier = new SDJwtVcInstance({
  hasher: digest,
  verifier: await ES256.getVerifier(input.issuer),
  kbVerifier,
});
const checked = await verifier.verify(input.presentation, {
  keyBindingNonce: input.nonce,
  currentDate: input.now,
});
if (!checked.kb || checked.kb.payload.aud !== input.audience) {
  throw new Error("the key binding was not checked for this audience");
}

// 2. What this library issues, its holder presents to Civitas.
const { privateKey, publicKey } = await ES256.generateKeyPair();
const holderPublic = { kty: input.holder.kty, crv: input.holder.crv, x: input.holder.x, y: input.holder.y };
const issuer = new SDJwtVcInstance({
  hasher: digest,
  saltGenerator: generateSalt,
  signer: await ES256.getSigner(privateKey),
  signAlg: "ES256",
  kbSigner: await ES256.getSigner(input.holder),
  kbSignAlg: "ES256",
});
const issued = await issuer.issue(
  {
    iss: "https://independent-issuer.example",
    iat: input.now - 60,
    exp: input.now + 3600,
    vct: "https://civitas.example/credentials/residence",
    cnf: { jwk: holderPublic },
    given_name: "Ana",
    age_over_18: true,
    address: { locality: "Riverton", street_address: "1 Mill Lane" },
    nationalities: ["PT", "FR"],
  },
  { _sd: ["given_name", "age_over_18", "address"], address: { _sd: ["locality", "street_address"] }, nationalities: { _sd: [0, 1] } },
);
const presentation = await issuer.present(
  issued,
  { age_over_18: true, address: { locality: true }, nationalities: { 1: true } },
  { kb: { payload: { aud: input.audience, nonce: input.nonce, iat: input.now } } },
);
process.stdout.write(JSON.stringify({
  verified: checked.payload,
  kb: checked.kb.payload,
  issuer: publicKey,
  issued,
  presentation,
}));
