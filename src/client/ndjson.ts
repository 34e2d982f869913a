/** Splits a byte stream of newline-delimited JSON into parsed values, one per non-empty line. */
export async function* readNdjsonLines(body: AsyncIterable<Uint8Array>): AsyncGenerator<unknown> {
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const chunk of body) {
    buffered += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      if (line) yield JSON.parse(line);
    }
  }
  // A final line without a trailing newline still counts: some servers end the stream that way.
  const rest = (buffered + decoder.decode()).trim();
  if (rest) yield JSON.parse(rest);
}
