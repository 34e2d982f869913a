/** Base images the server knows, per node. */
import { ErrorBox, PageHead } from '../components/bits.js';
import { call } from '../lib/api.js';
import { bytes, when } from '../lib/format.js';
import { usePoll } from '../lib/poll.js';

/** The image list. */
export function ImagesPage() {
  const images = usePoll(() => call('imagesList'), 10_000);
  return (
    <section>
      <PageHead title="Images" />
      <ErrorBox message={images.error} />
      {images.data && images.data.images.length === 0 && (
        <p>
          No base images built yet; an admin builds them with <code>berth image build</code>.
        </p>
      )}
      {images.data && images.data.images.length > 0 && (
        <table class="list">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Reference</th>
              <th scope="col">Node</th>
              <th scope="col">From</th>
              <th scope="col">Packages</th>
              <th scope="col">Size</th>
              <th scope="col">Built</th>
            </tr>
          </thead>
          <tbody>
            {images.data.images.map((i) => (
              <tr key={`${i.nodeName}/${i.ref}`}>
                <th scope="row" data-label="Name">
                  {i.name}
                </th>
                <td data-label="Reference">
                  <code>{i.ref}</code>
                </td>
                <td data-label="Node">{i.nodeName}</td>
                <td data-label="From">{i.from}</td>
                <td data-label="Packages">{i.packages.join(', ') || '—'}</td>
                <td data-label="Size">{bytes(i.sizeBytes)}</td>
                <td data-label="Built">{when(i.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
