/** COCO compressed RLE as the API sends it: column-major, `counts` in COCO's string encoding. */
export interface Rle {
  size: [number, number]; // [height, width]
  counts: string;
}
