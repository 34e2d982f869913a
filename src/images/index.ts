/** berth's base images: build from busybox or Debian, list, and resolve --image for the engine. */

export { defaultCacheDir } from './debootstrap.js';
export type { NodeImage } from './docker-images.js';
export type { ExportInput, ExportResult, ImageExporter } from './exporter.js';
export { ImageStore, type ImageStoreOptions } from './image-store.js';
export { berthImageRef, IMAGE_LABELS } from './naming.js';
