// Server-rendered SVG bar charts: no script, no library. Each chart names itself for screen
// readers (role="img", <title> and <desc> with the figures), and its colours keep a contrast of
// at least 4.5:1 on white. Every text that reaches the markup is escaped.

export interface Bar {
  label: string;
  /** The bar's height; null draws nothing (no data for that bucket). */
  value: number | null;
  /** Part of the value drawn in the alert colour at the bottom of the bar (failures). */
  part?: number;
}

export interface BarChartInput {
  id: string;
  title: string;
  /** What the chart says, in words: its <desc>, read by screen readers. */
  summary: string;
  bars: Bar[];
  /** How a value is written on the axis. */
  format: (value: number) => string;
  /** Name of the `part` in the legend (e.g. "failed"); no legend without it. */
  partLabel?: string;
  valueLabel?: string;
}

export const COLOURS = { bar: "#1f5fa8", part: "#b3261e", axis: "#4a4a4a", text: "#1b1b1b", grid: "#d0d0d0" };

const WIDTH = 360;
const HEIGHT = 160;
const PAD = { left: 52, right: 8, top: 12, bottom: 28 };

export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

const n = (value: number) => Number(value.toFixed(1));

export function barChart(input: BarChartInput): string {
  const id = input.id.replace(/[^A-Za-z0-9_-]/g, "-");
  const values = input.bars.map((b) => b.value ?? 0);
  const max = Math.max(0, ...values);
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const slot = input.bars.length ? plotW / input.bars.length : plotW;
  const barW = Math.max(1, slot * 0.7);
  const y = (v: number) => PAD.top + plotH - (max ? (v / max) * plotH : 0);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-labelledby="${id}-title ${id}-desc">`,
    `<title id="${id}-title">${escapeXml(input.title)}</title>`,
    `<desc id="${id}-desc">${escapeXml(input.summary)}</desc>`,
    `<line x1="${PAD.left}" y1="${PAD.top + plotH}" x2="${WIDTH - PAD.right}" y2="${PAD.top + plotH}" stroke="${COLOURS.axis}"/>`,
    `<line x1="${PAD.left}" y1="${PAD.top}" x2="${PAD.left}" y2="${PAD.top + plotH}" stroke="${COLOURS.axis}"/>`,
  ];
  if (max > 0) {
    parts.push(
      `<line x1="${PAD.left}" y1="${PAD.top}" x2="${WIDTH - PAD.right}" y2="${PAD.top}" stroke="${COLOURS.grid}" stroke-dasharray="3 3"/>`,
      `<text x="${PAD.left - 4}" y="${PAD.top + 4}" text-anchor="end" font-size="10" fill="${COLOURS.text}">${escapeXml(input.format(max))}</text>`,
    );
  }
  parts.push(
    `<text x="${PAD.left - 4}" y="${PAD.top + plotH}" text-anchor="end" font-size="10" fill="${COLOURS.text}">0</text>`,
  );
  input.bars.forEach((bar, i) => {
    const x = PAD.left + i * slot + (slot - barW) / 2;
    if (bar.value !== null && bar.value > 0) {
      const top = y(bar.value);
      parts.push(
        `<rect x="${n(x)}" y="${n(top)}" width="${n(barW)}" height="${n(PAD.top + plotH - top)}" fill="${COLOURS.bar}"><title>${escapeXml(`${bar.label}: ${input.format(bar.value)}`)}</title></rect>`,
      );
      if (bar.part) {
        const partTop = y(Math.min(bar.part, bar.value));
        parts.push(
          `<rect x="${n(x)}" y="${n(partTop)}" width="${n(barW)}" height="${n(PAD.top + plotH - partTop)}" fill="${COLOURS.part}"><title>${escapeXml(`${bar.label}: ${bar.part} ${input.partLabel ?? ""}`.trim())}</title></rect>`,
        );
      }
    }
  });
  const first = input.bars[0];
  const last = input.bars[input.bars.length - 1];
  if (first)
    parts.push(
      `<text x="${PAD.left}" y="${HEIGHT - 10}" font-size="10" fill="${COLOURS.text}">${escapeXml(first.label)}</text>`,
    );
  if (last && last !== first)
    parts.push(
      `<text x="${WIDTH - PAD.right}" y="${HEIGHT - 10}" text-anchor="end" font-size="10" fill="${COLOURS.text}">${escapeXml(last.label)}</text>`,
    );
  // No bars to draw: either nothing was measured, or every measure was zero (a rate of 0 % is data).
  if (max === 0) {
    const empty = input.bars.every((b) => b.value === null) ? "no data in this window" : "zero throughout";
    parts.push(
      `<text x="${PAD.left + plotW / 2}" y="${PAD.top + plotH / 2}" text-anchor="middle" font-size="12" fill="${COLOURS.text}">${empty}</text>`,
    );
  }
  if (input.partLabel)
    parts.push(
      `<rect x="${WIDTH - PAD.right - 150}" y="2" width="8" height="8" fill="${COLOURS.bar}"/><text x="${WIDTH - PAD.right - 139}" y="10" font-size="10" fill="${COLOURS.text}">${escapeXml(input.valueLabel ?? "all")}</text>`,
      `<rect x="${WIDTH - PAD.right - 70}" y="2" width="8" height="8" fill="${COLOURS.part}"/><text x="${WIDTH - PAD.right - 59}" y="10" font-size="10" fill="${COLOURS.text}">${escapeXml(input.partLabel)}</text>`,
    );
  parts.push("</svg>");
  return parts.join("");
}
