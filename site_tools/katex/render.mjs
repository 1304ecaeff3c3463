// Build-time KaTeX renderer for site_tools/hooks/katex_math.py.
//
// Usage: node render.mjs /path/to/node_modules/katex/dist/katex.mjs
//
// Protocol: line-delimited JSON over stdin/stdout, one request per page.
//   request:  {"items": [["\\frac{a}{b}", false], ["\\sum_i x_i", true], ...]}
//   response: {"results": [{"html": "...", "warnings": []} | {"error": "..."}, ...]}
// The process stays alive for the whole build, so Node and KaTeX load once.
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";

const katex = (await import(pathToFileURL(process.argv[2]).href)).default;

function render([tex, displayMode]) {
  const warnings = [];
  try {
    const html = katex.renderToString(tex, {
      displayMode,
      throwOnError: true,
      output: "htmlAndMathml", // MathML for screen readers, HTML for the eye
      // Non-standard LaTeX is reported back to Python instead of printed to the console.
      strict: (code, message) => {
        warnings.push(`${code}: ${message}`);
        return "ignore";
      },
    });
    return { html, warnings };
  } catch (err) {
    return { error: String(err && err.message ? err.message : err) };
  }
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  let reply;
  try {
    reply = { results: JSON.parse(line).items.map(render) };
  } catch (err) {
    reply = { fatal: String(err) };
  }
  process.stdout.write(JSON.stringify(reply) + "\n");
}
