// The README and docs/ as a newcomer follows them: every relative link leads to a file that exists,
// and every #anchor to a heading of that file (GitHub's rule: lower case, punctuation dropped,
// spaces as hyphens).
import t from "tap";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { PROJECT_ROOT } from "../src/db/migrate.js";

const files = ["README.md", "CHANGELOG.md", "BENCHMARKS.md", ...readdirSync(path.join(PROJECT_ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];

function anchors(file: string): Set<string> {
  const text = readFileSync(path.join(PROJECT_ROOT, file), "utf8").replace(/```[\s\S]*?```/g, "");
  return new Set([...text.matchAll(/^#{1,6} (.*)$/gm)].map((m) => m[1]!.trim().toLowerCase().replace(/[^\w\- ]/g, "").replace(/ /g, "-")));
}

t.test("every relative link of the README and docs/ resolves, anchors included", async (t) => {
  let checked = 0;
  for (const file of files) {
    const text = readFileSync(path.join(PROJECT_ROOT, file), "utf8").replace(/```[\s\S]*?```/g, "");
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/i.test(target!)) continue;
      const [where, anchor] = target!.split("#") as [string, string | undefined];
      const resolved = where ? path.normalize(path.join(path.dirname(file), where)) : file;
      checked++;
      if (!existsSync(path.join(PROJECT_ROOT, resolved))) {
        t.fail(`${file}: ${target} leads to no file`);
        continue;
      }
      if (anchor && resolved.endsWith(".md") && !anchors(resolved).has(anchor)) t.fail(`${file}: ${target}: no heading #${anchor} in ${resolved}`);
    }
  }
  t.ok(checked > 40, `${checked} links checked`);
});

t.test("the README is a quick start: the two commands first, the walkthrough, and links to the reference in docs/", async (t) => {
  const readme = readFileSync(path.join(PROJECT_ROOT, "README.md"), "utf8");
  t.match(readme.split("\n").slice(0, 6).join("\n"), /npm install && npm start[\s\S]*npm test/, "the first lines");
  t.ok(readme.split("\n").length < 250, "short enough to read through");
  for (const doc of ["everyday-tasks", "sql-api", "configuration", "operating", "integrity-and-roles", "writing-a-destination", "from-node", "development"]) {
    t.match(readme, new RegExp(`\\]\\(docs/${doc}\\.md\\)`), `links docs/${doc}.md`);
  }
});
