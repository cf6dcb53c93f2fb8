// Token masks from XGrammar (@mlc-ai/web-xgrammar) for token walks through JSON schemas.
// Input (argv[2], JSON): { vocab: [byte-level token strings by id, "" for control tokens], stopTokens: [ids],
//   cases: [{ schema, walks: [[token ids]] }] }.
// Output (stdout, JSON): per case, per walk, per step (before each token and after the last) the bitmask as
// hex words, or null from the step XGrammar refused a token on.
const Module = require("module");
const fs = require("fs");
const path = require("path");

// The package ships a UMD (CommonJS) bundle but declares "type": "module", so neither require nor import loads
// it under Node; compile the bundle as CommonJS ourselves.
function loadXGrammar() {
  const file = path.join(__dirname, "node_modules/@mlc-ai/web-xgrammar/lib/index.js");
  const m = new Module(file, module);
  m.filename = file;
  m.paths = Module._nodeModulePaths(path.dirname(file));
  m._compile(fs.readFileSync(file, "utf8"), file);
  return m.exports;
}

function hex(bitmask) {
  return Array.from(bitmask, w => (w >>> 0).toString(16).padStart(8, "0")).join("");
}

(async () => {
  const xgr = loadXGrammar();
  const input = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  const info = await xgr.TokenizerInfo.createTokenizerInfo(input.vocab, "byte_level", false, input.vocab.length, input.stopTokens);
  const compiler = await xgr.GrammarCompiler.createGrammarCompiler(info);
  const results = [];
  for (const c of input.cases) {
    // One line, Python json.dumps separators, no extra properties: the engine's JSON layout.
    const compiled = await compiler.compileJSONSchema(c.schema, false, -1, [", ", ": "], true);
    const walks = [];
    for (const walk of c.walks) {
      const matcher = await xgr.GrammarMatcher.createGrammarMatcher(compiled);
      const masks = [];
      for (let i = 0; i <= walk.length; i++) {
        masks.push(hex(await matcher.getNextTokenBitmask()));
        if (i < walk.length && !matcher.acceptToken(walk[i])) {
          masks.push(null);
          break;
        }
      }
      matcher.dispose();
      walks.push(masks);
    }
    compiled.dispose();
    results.push(walks);
  }
  process.stdout.write(JSON.stringify(results));
})().catch(error => {
  console.error(error);
  process.exit(1);
});
