//! Streams the output file: the header, then each tensor's rows read from the checkpoint,
//! converted and quantized a chunk at a time, so memory stays flat for any model size.

use super::*;

/// Elements per read/quantize chunk.
const CHUNK_ELEMS: u64 = 1 << 22;

pub(super) fn write_gguf(
    path: &Path,
    meta: &[(String, Value)],
    outs: &[OutTensor],
    ck: &Checkpoint,
    threads: usize,
) -> Result<()> {
    let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 22, file);
    let io = |e| Error::io(path, e);
    let align = DEFAULT_ALIGNMENT;

    let headers: Vec<TensorHeader> = outs
        .iter()
        .map(|t| TensorHeader {
            name: &t.name,
            ne: &t.ne,
            ty: t.ty,
            n_bytes: t.n_bytes(),
        })
        .collect();
    let head = encode_header(meta, &headers, align);
    w.write_all(&head).map_err(io)?;

    for t in outs {
        let mut written = 0u64;
        let mut emit = |rows: &[f32]| -> Result<()> {
            let q = quantize_rows(t.ty, rows, t.ne[0] as usize, threads)?;
            written += q.len() as u64;
            w.write_all(&q).map_err(io)
        };
        produce(ck, t, &mut emit)?;
        let n = t.n_bytes();
        assert_eq!(written, n, "{}: bytes written", t.name);
        let pad = n.div_ceil(align) * align - n;
        w.write_all(&vec![0u8; pad as usize]).map_err(io)?;
        log::info!("{:<36} {:?} {}", t.name, t.ne, t.ty);
    }
    w.flush().map_err(io)?;
    Ok(())
}

/// Calls `emit` with the tensor's f32 values, whole GGUF rows at a time, in file order.
fn produce(
    ck: &Checkpoint,
    t: &OutTensor,
    emit: &mut dyn FnMut(&[f32]) -> Result<()>,
) -> Result<()> {
    let plain = |s: &Src, emit: &mut dyn FnMut(&[f32]) -> Result<()>| -> Result<()> {
        let st = ck.tensor(s);
        let rl = st.row_len().max(1);
        let rows = st.n_elements() / rl;
        let per = (CHUNK_ELEMS / rl).max(1);
        let mut r = 0;
        while r < rows {
            let n = per.min(rows - r);
            emit(&ck.read_rows(s, r, n)?)?;
            r += n;
        }
        Ok(())
    };
    let c = &ck.cfg;
    let (h, nope, v, kv) = (c.n_head, c.nope, c.v_head, c.kv_lora_rank);
    match &t.source {
        Source::Plain(s) => plain(s, emit),
        Source::Stack(list) => list.iter().try_for_each(|s| plain(s, emit)),
        Source::KB(s) => {
            // kv_b rows: head-major, nope K rows then v V rows per head, each kv_lora long.
            // attn_k_b row (head, j) = column j of the head's K block.
            let x = ck.read_all(s)?;
            let mut out = Vec::with_capacity(h * kv * nope);
            for hd in 0..h {
                let base = hd * (nope + v) * kv;
                for j in 0..kv {
                    out.extend((0..nope).map(|i| x[base + i * kv + j]));
                }
            }
            emit(&out)
        }
        Source::VB(s) => {
            let x = ck.read_all(s)?;
            let mut out = Vec::with_capacity(h * v * kv);
            for hd in 0..h {
                let base = (hd * (nope + v) + nope) * kv;
                out.extend_from_slice(&x[base..base + v * kv]);
            }
            emit(&out)
        }
    }
}

/// Quantizes whole rows of `row_len`, split over `threads`.
fn quantize_rows(ty: QuantType, x: &[f32], row_len: usize, threads: usize) -> Result<Vec<u8>> {
    let rows = x.len() / row_len.max(1);
    if threads <= 1 || rows < 2 || x.len() < 65536 {
        return quant::quantize_row(ty, x);
    }
    let per = rows.div_ceil(threads) * row_len;
    let parts: Vec<Result<Vec<u8>>> = std::thread::scope(|sc| {
        let hs: Vec<_> = x
            .chunks(per)
            .map(|c| sc.spawn(move || quant::quantize_row(ty, c)))
            .collect();
        hs.into_iter()
            .map(|h| h.join().expect("quantizer thread"))
            .collect()
    });
    let mut out = Vec::new();
    for p in parts {
        out.extend(p?);
    }
    Ok(out)
}
