/**
 * A table's Arrow IPC file bytes as the pieces Arrow's writer emits, without joining them.
 *
 * `tableToIPC` joins the pieces into one new buffer, which costs more than the serialisation
 * itself where first touching fresh memory is slow (page faults, about 30 µs a page on some VMs).
 * The pieces are message headers, padding, and views of the table's own column buffers (no copy),
 * so a caller can write them where they need to go, e.g. into a reused buffer or a file.
 */
import * as Arrow from "apache-arrow"

/** The IPC file bytes of a table, in order; joined, they are `tableToIPC(table, "file")`. */
export interface IpcChunks {
  readonly chunks: ReadonlyArray<Uint8Array>
  readonly byteLength: number
}

/** The file writer with its output collected as a list instead of Arrow's byte queue. */
class ChunkWriter extends Arrow.RecordBatchFileWriter {
  readonly chunks: Uint8Array[] = []
  byteLength = 0

  // The same bookkeeping as the base `_write` (which pushes into the byte queue), keeping `_position`
  // right for the footer's block offsets.
  protected override _write(chunk: Parameters<typeof Arrow.util.toUint8Array>[0]) {
    if (this._started) {
      const bytes = Arrow.util.toUint8Array(chunk)
      if (bytes.byteLength > 0) {
        this.chunks.push(bytes)
        this.byteLength += bytes.byteLength
        this._position += bytes.byteLength
      }
    }
    return this
  }
}

/** Serialises a table to the Arrow IPC file format as a list of byte ranges. */
export const ipcChunks = (table: Arrow.Table): IpcChunks => {
  const writer = new ChunkWriter()
  writer.writeAll(table)
  writer.finish()
  return { chunks: writer.chunks, byteLength: writer.byteLength }
}
