// Accessibility checks with axe-core (Deque's rules engine, run in the page): the WCAG 2.1 A and AA
// rules that apply to what is on screen. The app's CSP forbids inline and injected scripts, so the
// engine is evaluated through the DevTools protocol, which the CSP does not govern.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * The axe-core violations within `selector` (the whole page by default), as
 * `{ id, impact, help, nodes: [html...] }`; an empty list is a pass.
 */
export async function axeViolations(page, selector = 'body') {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(AXE_SOURCE);
  return page.evaluate(async (sel) => {
    const result = await window.axe.run(document.querySelector(sel), {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    });
    return result.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.html),
    }));
  }, selector);
}
