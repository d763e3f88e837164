// The xaiserve web page: pick a model, give an instance (an image, a table
// row, a text, or raw JSON), choose the method, and see the prediction with
// its attributions. Talks only to the REST API of the server that serves it:
//   GET  /v1/models, /v1/models/{name}      the models, their inputs and metadata
//   GET  /v1/models/{name}:examples          instances.jsonl beside the model ("Use an example")
//   POST /v1/models/{name}:explain           with "parameters": {"visualize": true}
// Pictures come from the server (entry.visualizations) when it sends them;
// otherwise pictures.js draws them here from featureAttributions.
import {
  asImageArray, drawBarChart, drawImage, drawOverlay, flattenAttributions, formatNumber, imageToRgb,
  visualizationSettings,
} from './pictures.js';

const $ = (id) => document.getElementById(id);

const state = {
  token: sessionStorage.getItem('xaiserve-token') || '',
  models: [],
  model: null,        // what describeModel() makes of GET /v1/models/{name}
  mode: 'json',       // the instance editor shown: image | table | text | json
  examples: [],
  image: null,        // the image instance: {instance, rgb, width, height, b64}
  // What the server turned out to accept; null until a request shows it.
  serverVisualize: null,
  // Bumped whenever the model or the instance changes: an answer that comes
  // back after that (a slow explanation, a model's details, its examples) is
  // for something no longer on screen, and is dropped.
  generation: 0,
};

// --- the API -----------------------------------------------------------------

class ApiError extends Error {
  constructor(httpStatus, statusName, message) {
    super(message);
    this.httpStatus = httpStatus;
    this.statusName = statusName;
  }
  describe() {
    if (this.httpStatus === 0) return this.message;
    return `${this.httpStatus} ${this.statusName || ''}: ${this.message}`.replace(' :', ':');
  }
}

async function api(method, path, body) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    throw new ApiError(0, '', `could not reach the server (${error.message}); is xaiserve still running?`);
  }
  const text = await response.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON: reported below
  }
  if (!response.ok) {
    if (response.status === 401) $('auth').hidden = false;
    const error = json && json.error;
    throw new ApiError(response.status, error?.status || response.statusText,
      error?.message || text.slice(0, 500) || 'no message');
  }
  if (json === null) throw new ApiError(response.status, '', `${path} answered with something that is not JSON`);
  return json;
}

// --- messages ----------------------------------------------------------------

function showError(text) {
  const box = $('error');
  box.textContent = text;
  box.hidden = !text;
}

function showNotice(text) {
  const box = $('notice');
  box.textContent = text;
  box.hidden = !text;
}

function errorText(error) {
  return error instanceof ApiError ? error.describe() : String(error.message || error);
}

// --- models ------------------------------------------------------------------

const pick = (object, ...keys) => (object ? keys.map((k) => object[k]).find((v) => v !== undefined) : undefined);
const isNumeric = (dtype) => /^(float|double|half|bfloat|int|uint)/.test(dtype || '');

// GET /v1/models/{name} -> what the page needs: the request's inputs (of the
// signature that takes :explain instances), their metadata, the outputs'
// class names, and which editor fits.
function describeModel(details) {
  const versions = (details.versions || []).filter((v) => Array.isArray(v.signatures));
  const version = versions.find((v) => v.version === details.defaultVersion) || versions[versions.length - 1];
  if (!version) {
    const reason = details.error?.message ||
      (details.loadErrors || []).map((e) => e.error?.message || e.message || JSON.stringify(e)).join('; ');
    return {
      name: details.name, loaded: false, reason: reason || 'no version loaded', kind: 'json', inputs: [], fields: [],
      metadataInputs: {}, classNames: {}, defaultMethod: details.defaultMethod,
    };
  }
  const signatureKey = version.explainInputsSignature || version.predictSignature;
  const signature = version.signatures.find((s) => s.key === signatureKey) || version.signatures[0];
  const metadata = version.metadata || {};
  const metadataInputs = Object.entries(metadata.inputs || {});
  const inputs = (signature?.inputs || []).map((input) => {
    const names = new Set([input.key, input.tensorName, (input.tensorName || '').replace(/:0$/, '')]);
    const found = metadataInputs.find(([, m]) => names.has(pick(m, 'input_tensor_name', 'inputTensorName')));
    return {
      key: input.key,
      dtype: input.dtype,
      shape: (input.shape || []).slice(1),  // per instance: without the batch dimension
      metadataName: found ? found[0] : null,
      metadata: found ? found[1] : {},
    };
  });
  const outputs = metadata.outputs || {};
  const classNames = {};
  for (const [name, output] of Object.entries(outputs)) {
    const mapping = pick(output, 'index_name_mapping', 'indexNameMapping', 'index_display_name_mapping',
      'indexDisplayNameMapping');
    if (Array.isArray(mapping)) classNames[name] = mapping;
  }
  const model = {
    name: details.name, loaded: true, explainable: version.explainable !== false,
    explainReason: version.explainReason || version.explainError?.message, explainSignature: version.explainSignature,
    defaultMethod: details.defaultMethod,
    inputs, metadataInputs: metadata.inputs || {}, classNames, signatureKey,
  };
  model.kind = editorKind(model);
  model.fields = model.kind === 'table' ? tableFields(model) : [];
  return model;
}

function editorKind(model) {
  const inputs = model.inputs;
  if (inputs.length === 0) return 'json';
  if (inputs.length === 1) {
    const [input] = inputs;
    const rank = input.shape.length;
    const modality = pick(input.metadata, 'modality');
    if (input.dtype === 'string' && rank === 0) return 'text';
    if (isNumeric(input.dtype) && /^(float|double|half|bfloat)/.test(input.dtype)) {
      if (rank === 3 && [1, 3, 4].includes(input.shape[2])) return 'image';
      if (rank === 2 && modality === 'image') return 'image';
    }
    if (isNumeric(input.dtype) && rank === 0) return 'table';
    if (isNumeric(input.dtype) && rank === 1 && input.shape[0] > 0 && input.shape[0] <= 1000) return 'table';
    return 'json';
  }
  const scalar = (i) => i.shape.length === 0 || (i.shape.length === 1 && i.shape[0] === 1);
  if (inputs.every((i) => isNumeric(i.dtype) && scalar(i))) return 'table';
  if (inputs.every((i) => i.dtype === 'string' && i.shape.length === 0)) return 'text';
  return 'json';
}

// One number field per feature: named by the metadata's index_feature_mapping
// when it has one, else "feature 0..N-1" (or the input's name).
function tableFields(model) {
  if (model.inputs.length === 1 && model.inputs[0].shape.length === 1) {
    const input = model.inputs[0];
    const mapping = pick(input.metadata, 'index_feature_mapping', 'indexFeatureMapping');
    return Array.from({ length: input.shape[0] }, (_, i) => ({
      input: input.key, index: i, label: Array.isArray(mapping) && mapping[i] !== undefined ? String(mapping[i]) : `feature ${i}`,
    }));
  }
  return model.inputs.map((input) => ({ input: input.key, index: null, label: input.key, wrap: input.shape.length === 1 }));
}

function describeInputs(model) {
  if (!model.loaded) return `Not loaded: ${model.reason}`;
  const inputs = model.inputs.map((i) => {
    const modality = pick(i.metadata, 'modality');
    const shape = i.shape.length ? `[${i.shape.map((d) => (d < 0 ? '?' : d)).join(', ')}]` : '';
    return `${i.key} ${i.dtype}${shape}${modality ? ` (${modality})` : ''}`;
  });
  const outputs = Object.entries(model.classNames).map(([name, classes]) => `${name}: ${classes.join(' / ')}`);
  return `Inputs ${inputs.join(', ')}${outputs.length ? `; outputs ${outputs.join(', ')}` : ''}. ` +
    (!model.explainable ? `Cannot explain: ${model.explainReason}`
      : model.explainSignature && model.explainSignature !== model.signatureKey
        ? `Explained by signature '${model.explainSignature}' (instances go through '${model.signatureKey}')`
        : `Explained by signature '${model.explainSignature || model.signatureKey}'`) +
    `; default method ${model.defaultMethod}.`;
}

async function loadModels() {
  showError('');
  let list;
  try {
    list = await api('GET', '/v1/models');
  } catch (error) {
    showError(`Cannot list the models: ${errorText(error)}`);
    return;
  }
  state.models = list.models || [];
  const select = $('model-select');
  select.replaceChildren();
  for (const model of state.models) {
    const option = new Option(model.name + (model.state !== 'AVAILABLE' ? ' (not loaded)' : '') +
      (model.explainable === false ? ' (cannot explain)' : ''), model.name);
    select.append(option);
  }
  const wanted = new URLSearchParams(location.hash.slice(1)).get('model');
  const first = state.models.find((m) => m.name === wanted) || state.models.find((m) => m.state === 'AVAILABLE') ||
    state.models[0];
  if (!first) {
    showError('This server serves no models.');
    return;
  }
  select.value = first.name;
  await selectModel(first.name);
}

async function selectModel(name) {
  const generation = ++state.generation;
  endBusy();  // an explanation of the previous model under way: its answer will be dropped
  showError('');
  showNotice('');
  clearResult();
  $('model-info').textContent = 'loading…';
  let details;
  try {
    details = await api('GET', `/v1/models/${encodeURIComponent(name)}`);
  } catch (error) {
    if (generation !== state.generation) return;  // another model was picked meanwhile
    $('model-info').textContent = '';
    // The model picked is the one selected, even unread: Explain reads it again.
    state.model = { name, loaded: false, unread: true, reason: errorText(error), kind: 'json', inputs: [], fields: [] };
    showError(`Cannot read model '${name}': ${errorText(error)}`);
    return;
  }
  if (generation !== state.generation) return;
  const model = describeModel(details);
  state.model = model;
  clearResult();
  state.image = null;
  history.replaceState(null, '', `#model=${encodeURIComponent(name)}`);
  $('model-info').textContent = describeInputs(model);
  if (['integrated-gradients', 'sampled-shapley', 'xrai'].includes(model.defaultMethod)) {
    $('method-select').value = model.defaultMethod;
  }
  // Text charts are drawn in the page, which knows the words; the server's
  // picture can only number the token positions.
  $('param-visualize').checked = model.kind !== 'text';
  updateMethodParameters();
  buildEditors(model);
  setMode(model.kind);
  await loadExamples(model, generation);
}

// --- instance editors ----------------------------------------------------------

function buildEditors(model) {
  const tabs = $('mode-tabs');
  tabs.replaceChildren();
  const labels = { image: 'Image', table: 'Table', text: 'Text', json: 'JSON' };
  const modes = model.kind === 'json' ? ['json'] : [model.kind, 'json'];
  for (const mode of modes) {
    const tab = document.createElement('button');
    tab.type = 'button';
    tab.textContent = labels[mode];
    tab.dataset.mode = mode;
    tab.setAttribute('role', 'tab');
    tab.addEventListener('click', () => setMode(mode, true));
    tabs.append(tab);
  }

  const fields = $('table-fields');
  fields.replaceChildren();
  model.fields.forEach((field, i) => {
    const label = document.createElement('label');
    label.className = 'field';
    const name = document.createElement('span');
    name.textContent = field.label;
    name.title = field.label;  // the whole name, where the column cuts it short.
    const input = document.createElement('input');
    input.type = 'number';
    input.step = 'any';
    input.id = `field-${i}`;
    input.dataset.index = String(i);
    label.append(name, input);
    fields.append(label);
  });

  const texts = $('text-fields');
  texts.replaceChildren();
  if (model.kind === 'text') {
    for (const input of model.inputs) {
      const label = document.createElement('label');
      label.textContent = model.inputs.length > 1 ? input.key : 'Text';
      const area = document.createElement('textarea');
      area.rows = 3;
      area.className = 'text-input';
      area.dataset.input = input.key;
      area.placeholder = 'Type a sentence';
      label.append(area);
      texts.append(label);
    }
  }
  $('json-instance').value = '';
  $('image-info').textContent = 'No image yet: upload one or use an example.';
  const preview = $('image-preview');
  preview.width = 1;
  preview.height = 1;
}

function setMode(mode, fromUser = false) {
  if (fromUser && mode === 'json' && state.mode !== 'json') {
    // Carry what the form holds over into the JSON editor.
    try {
      const instance = buildInstance({ preferB64: false });
      $('json-instance').value = JSON.stringify(instance);
    } catch {
      // an incomplete form: leave the editor as it is
    }
  }
  state.mode = mode;
  for (const name of ['image', 'table', 'text', 'json']) $(`mode-${name}`).hidden = name !== mode;
  for (const tab of $('mode-tabs').children) tab.setAttribute('aria-selected', String(tab.dataset.mode === mode));
}

// The instance the editors hold, as the request's "instances" entry.
function buildInstance({ preferB64 }) {
  const model = state.model;
  switch (state.mode) {
    case 'image': {
      if (!state.image) throw new Error('Give an image first: upload a PNG or JPEG, or use an example.');
      if (preferB64 && state.image.b64) return { b64: state.image.b64 };
      return state.image.instance;
    }
    case 'table': {
      const values = model.fields.map((field, i) => {
        const text = $(`field-${i}`).value.trim();
        const value = Number(text);
        if (text === '' || !Number.isFinite(value)) {
          throw new Error(`'${field.label}' needs a number (it holds '${text}').`);
        }
        return value;
      });
      if (model.fields.length && model.fields[0].index !== null) {
        return model.inputs[0].shape.length === 0 ? values[0] : values;
      }
      return Object.fromEntries(model.fields.map((f, i) => [f.input, f.wrap ? [values[i]] : values[i]]));
    }
    case 'text': {
      const areas = [...document.querySelectorAll('#text-fields textarea')];
      if (areas.length === 1) return areas[0].value;
      return Object.fromEntries(areas.map((a) => [a.dataset.input, a.value]));
    }
    default: {
      const text = $('json-instance').value.trim();
      if (!text) throw new Error('Write an instance as JSON first.');
      try {
        return JSON.parse(text);
      } catch (error) {
        throw new Error(`The JSON does not parse: ${error.message}`);
      }
    }
  }
}

// Fills the editor of the model's kind with an instance; false if it does not fit.
function fillEditor(instance) {
  const model = state.model;
  if (model.kind === 'table') {
    let values = null;
    if (model.fields.length && model.fields[0].index !== null) {
      values = Array.isArray(instance) ? instance : typeof instance === 'number' ? [instance] : null;
      if (values && values.length !== model.fields.length) values = null;
    } else if (instance && typeof instance === 'object' && !Array.isArray(instance)) {
      values = model.fields.map((f) => (Array.isArray(instance[f.input]) ? instance[f.input][0] : instance[f.input]));
    }
    if (!values || values.some((v) => typeof v !== 'number')) return false;
    values.forEach((v, i) => { $(`field-${i}`).value = String(v); });
    return true;
  }
  if (model.kind === 'text') {
    const areas = [...document.querySelectorAll('#text-fields textarea')];
    // Bytes ({"b64": ...}, a serialized tf.Example say) are no text to edit: shown as JSON.
    const isBytes = (v) => v && typeof v === 'object' && 'b64' in v;
    if (isBytes(instance) || (instance && typeof instance === 'object' && Object.values(instance).some(isBytes))) {
      return false;
    }
    if (typeof instance === 'string' && areas.length === 1) {
      areas[0].value = instance;
      return true;
    }
    if (instance && typeof instance === 'object') {
      areas.forEach((a) => { a.value = String(instance[a.dataset.input] ?? ''); });
      return true;
    }
    return false;
  }
  if (model.kind === 'image') {
    const value = instance && !Array.isArray(instance) && typeof instance === 'object' && !('b64' in instance)
      ? instance[model.inputs[0].key] : instance;
    if (value && typeof value === 'object' && 'b64' in value) {
      loadImageSource(`data:image/png;base64,${value.b64}`, value.b64, 'example').catch((e) => showError(errorText(e)));
      return true;
    }
    const image = asImageArray(value);
    if (!image) return false;
    setImage({ instance: value, rgb: imageToRgb(image, domainOf(model.inputs[0])), width: image.width,
      height: image.height, b64: null }, 'an example from instances.jsonl');
    return true;
  }
  return false;
}

function domainOf(input) {
  const domain = pick(input.metadata, 'domain');
  const min = Number(pick(domain, 'min') ?? 0);
  const max = Number(pick(domain, 'max') ?? 1);
  return { min, max };
}

async function loadExamples(model, generation) {
  state.examples = [];
  const select = $('example-select');
  select.replaceChildren();
  $('example-info').textContent = '';
  if (!model.loaded) return;
  let examples = [];
  try {
    const reply = await api('GET', `/v1/models/${encodeURIComponent(model.name)}:examples`);
    examples = reply.examples || [];
  } catch (error) {
    if (generation !== state.generation) return;
    $('example-info').textContent = `no examples (${errorText(error)})`;
  }
  if (generation !== state.generation) return;  // another model was picked meanwhile
  state.examples = examples;
  state.examples.forEach((_, i) => select.append(new Option(`example ${i + 1}`, String(i))));
  const none = state.examples.length === 0;
  $('example-button').disabled = none;
  select.disabled = none;
  if (none) {
    if (!$('example-info').textContent) {
      $('example-info').textContent = 'no examples: put an instances.jsonl beside the model to get some';
    }
    return;
  }
  $('example-info').textContent = `${state.examples.length} from instances.jsonl beside the model`;
  useExample(0);
}

function useExample(index) {
  const instance = state.examples[index];
  if (instance === undefined) return;
  state.generation++;  // an explanation under way is of the instance replaced
  endBusy();  // its answer will be dropped: the new instance can be explained at once
  showError('');
  if (state.model.kind !== 'json' && fillEditor(instance)) {
    setMode(state.model.kind);
  } else {
    $('json-instance').value = JSON.stringify(instance);
    setMode('json');
  }
}

// --- images --------------------------------------------------------------------

function readAsDataUrl(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.onerror = () => reject(new Error(`cannot read ${file.name}: ${reader.error?.message}`));
    reader.readAsDataURL(file);
  });
}

function decodeImage(url) {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = () => reject(new Error('the browser cannot decode this file as an image (use a PNG or JPEG)'));
    image.src = url;
  });
}

// The orientation (1-8) an EXIF block (TIFF data from `at`) gives, or 1.
function exifOrientation(bytes, at) {
  const little = bytes[at] === 0x49;  // "II", else "MM"
  const u16 = (i) => (little ? bytes[i] | (bytes[i + 1] << 8) : (bytes[i] << 8) | bytes[i + 1]);
  const u32 = (i) => (little ? u16(i) + u16(i + 2) * 65536 : u16(i) * 65536 + u16(i + 2));
  const ifd = at + u32(at + 4);
  if (ifd + 2 > bytes.length) return 1;
  for (let n = 0, entry = ifd + 2; n < u16(ifd) && entry + 12 <= bytes.length; n++, entry += 12) {
    if (u16(entry) === 0x0112) {
      const orientation = u16(entry + 8);
      return orientation >= 1 && orientation <= 8 ? orientation : 1;
    }
  }
  return 1;
}

// A JPEG's or PNG's bytes without their EXIF blocks (JPEG APP1 "Exif",
// PNG eXIf), which is where browsers find the orientation they apply when
// they decode; TensorFlow's decoders, and so the server with the file,
// ignore it. {bytes, orientation}: the bytes unchanged and orientation 1
// where there is none (or the file is neither, or not well formed).
function withoutExif(bytes) {
  const none = { bytes, orientation: 1 };
  const kept = [];
  let orientation = 1;
  let removed = false;
  if (bytes[0] === 0xff && bytes[1] === 0xd8) {  // JPEG: segments up to the image data
    let at = 2;
    kept.push(bytes.subarray(0, 2));
    while (at + 4 <= bytes.length && bytes[at] === 0xff && bytes[at + 1] !== 0xda) {
      const length = (bytes[at + 2] << 8) | bytes[at + 3];
      if (length < 2) return none;
      const end = at + 2 + length;
      const isExif = bytes[at + 1] === 0xe1 && String.fromCharCode(...bytes.subarray(at + 4, at + 8)) === 'Exif';
      if (isExif) {
        if (orientation === 1) orientation = exifOrientation(bytes, at + 10);
        removed = true;
      } else {
        kept.push(bytes.subarray(at, end));
      }
      at = end;
    }
    kept.push(bytes.subarray(at));
  } else if (String.fromCharCode(...bytes.subarray(1, 4)) === 'PNG') {  // PNG: chunks
    let at = 8;
    kept.push(bytes.subarray(0, 8));
    while (at + 12 <= bytes.length) {
      const length = ((bytes[at] << 24) >>> 0) + (bytes[at + 1] << 16) + (bytes[at + 2] << 8) + bytes[at + 3];
      const end = at + 12 + length;
      if (end > bytes.length) return none;
      if (String.fromCharCode(...bytes.subarray(at + 4, at + 8)) === 'eXIf') {
        if (orientation === 1) orientation = exifOrientation(bytes, at + 8);
        removed = true;
      } else {
        kept.push(bytes.subarray(at, end));
      }
      at = end;
    }
  }
  if (!removed) return none;
  const out = new Uint8Array(kept.reduce((n, part) => n + part.length, 0));
  kept.reduce((offset, part) => (out.set(part, offset), offset + part.length), 0);
  return { bytes: out, orientation };
}

const ORIENTATION_NAMES = {
  2: 'mirrored', 3: 'turned 180°', 4: 'flipped', 5: 'mirrored and turned', 6: 'turned 90° clockwise',
  7: 'mirrored and turned', 8: 'turned 90° counter-clockwise',
};

// The picture at a data URL as its file stores it: decoded without its
// EXIF blocks (withoutExif), so that no orientation is applied. {picture,
// orientation}: the orientation the file gave, which the browser would have applied.
async function decodeAsStored(url) {
  const comma = url.indexOf(',');
  const bytes = Uint8Array.from(atob(url.slice(comma + 1)), (c) => c.charCodeAt(0));
  const stored = withoutExif(bytes);
  if (stored.bytes === bytes) return { picture: await decodeImage(url), orientation: 1 };
  const objectUrl = URL.createObjectURL(new Blob([stored.bytes]));
  try {
    return { picture: await decodeImage(objectUrl), orientation: stored.orientation };
  } finally {
    URL.revokeObjectURL(objectUrl);
  }
}

// An image (a data URL) -> the model's input: resized with a canvas to the
// input's height and width (its own size, at most 256, where the model
// leaves them open), as a nested [H][W][C] list scaled into the input's domain.
// A JPEG's or PNG's EXIF orientation is not applied: the model gets the
// pixels as stored, as the server decodes the file and as TensorFlow does.
async function loadImageSource(url, b64, origin) {
  const input = state.model.inputs[0];
  const { picture, orientation } = await decodeAsStored(url);
  const [pictureWidth, pictureHeight] = [picture.naturalWidth, picture.naturalHeight];
  let [height, width, channels] = input.shape;
  if (input.shape.length === 2) channels = 0;  // [H][W]: grayscale without a channel axis
  const fit = Math.min(1, 256 / Math.max(pictureWidth, pictureHeight));
  if (!(height > 0)) height = Math.max(1, Math.round(pictureHeight * fit));
  if (!(width > 0)) width = Math.max(1, Math.round(pictureWidth * fit));
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.imageSmoothingQuality = 'high';
  // Transparent pixels over white, as the server decodes an uploaded file:
  // one picture, one prediction, whether the file or its pixels are sent.
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, width, height);
  ctx.drawImage(picture, 0, 0, width, height);
  const data = ctx.getImageData(0, 0, width, height).data;
  const { min, max } = domainOf(input);
  const scale = (byte) => Math.round((min + (byte / 255) * (max - min)) * 10000) / 10000;
  const instance = [];
  const rgb = new Uint8ClampedArray(width * height * 3);
  for (let y = 0; y < height; y++) {
    const row = [];
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      const [r, g, b, a] = [data[i], data[i + 1], data[i + 2], data[i + 3]];
      const gray = 0.299 * r + 0.587 * g + 0.114 * b;
      if (channels === 0) row.push(scale(gray));
      else if (channels === 1) row.push([scale(gray)]);
      else if (channels === 3) row.push([scale(r), scale(g), scale(b)]);
      else row.push([scale(r), scale(g), scale(b), scale(a)]);
      rgb.set(channels === 3 || channels === 4 ? [r, g, b] : [gray, gray, gray], (y * width + x) * 3);
    }
    instance.push(row);
  }
  const resized = pictureWidth !== width || pictureHeight !== height;
  const description = origin === 'example' ? 'an example' : `${origin}` +
    (resized ? ` (${pictureWidth}×${pictureHeight}, resized to ${width}×${height})` : '') +
    (orientation !== 1 ? `; shown as stored: its EXIF orientation (${ORIENTATION_NAMES[orientation]}) ` +
      'is ignored, as TensorFlow ignores it when it decodes the file' : '');
  setImage({ instance, rgb, width, height, b64 }, description);
}

function setImage(image, description) {
  state.image = image;
  const shown = drawImage(image.rgb, image.width, image.height, 160);
  const preview = $('image-preview');
  preview.width = shown.width;
  preview.height = shown.height;
  preview.getContext('2d').drawImage(shown, 0, 0);
  $('image-info').textContent = `${image.width}×${image.height} pixels: ${description}.`;
}

async function onImageFile(file) {
  if (!file) return;
  showError('');
  state.generation++;  // the instance changes
  endBusy();
  state.image = null;  // a file that does not decode leaves no image, not the previous one
  clearResult();
  try {
    const url = await readAsDataUrl(file);
    const match = /^data:image\/(png|jpeg);base64,(.*)$/.exec(url);
    await loadImageSource(url, match ? match[2] : null, file.name);
    setMode('image');
  } catch (error) {
    // No picture of the previous file stays beside the message.
    const preview = $('image-preview');
    preview.getContext('2d').clearRect(0, 0, preview.width, preview.height);
    $('image-info').textContent = `No image: ${file.name} could not be read.`;
    showError(errorText(error));
  }
}

// --- the method ----------------------------------------------------------------

function updateMethodParameters() {
  const method = $('method-select').value;
  const path = method !== 'sampled-shapley';
  const show = (selector, visible) => document.querySelectorAll(selector).forEach((e) => { e.hidden = !visible; });
  show('.for-path', path);
  show('.for-ig', method === 'integrated-gradients');
  show('.for-shapley', method === 'sampled-shapley');
  show('.for-smoothgrad', path && $('param-smoothgrad').checked);
}

function integerField(id, label, min, max) {
  const value = Number($(id).value);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${label} must be a whole number from ${min} to ${max}.`);
  }
  return value;
}

function methodParameters() {
  const method = $('method-select').value;
  if (method === 'sampled-shapley') {
    return { sampledShapleyAttribution: { pathCount: integerField('param-paths', 'Paths', 1, 50) } };
  }
  const config = { stepCount: integerField('param-steps', 'Steps', 1, 100) };
  if ($('param-smoothgrad').checked) {
    const text = $('param-noise-sigma').value.trim();
    const sigma = Number(text);
    // Empty read as 0 and added no noise while the result said SmoothGrad.
    if (text === '' || !Number.isFinite(sigma) || sigma <= 0) {
      throw new Error('Noise sigma must be a number > 0 with SmoothGrad.');
    }
    config.smoothGradConfig = {
      noisySampleCount: integerField('param-noisy-samples', 'Noisy samples', 1, 50), noiseSigma: sigma,
    };
  }
  const blur = $('param-blur').value.trim();
  if (method === 'integrated-gradients' && blur !== '') {
    const sigma = Number(blur);
    if (!Number.isFinite(sigma) || sigma <= 0) throw new Error('The blur sigma must be a number > 0 (or empty).');
    config.blurBaselineConfig = { maxBlurSigma: sigma };
  }
  return method === 'xrai' ? { xraiAttribution: config } : { integratedGradientsAttribution: config };
}

const METHOD_NAMES = {
  'integrated-gradients': 'Integrated Gradients', 'sampled-shapley': 'Sampled Shapley', xrai: 'XRAI',
};

// --- explaining ------------------------------------------------------------------

// The request body, and what it was made of (for the retries and the pictures).
function buildRequest({ preferB64, visualize }) {
  const instance = buildInstance({ preferB64 });
  const parameters = methodParameters();
  if (visualize) parameters.visualize = true;
  if (state.mode === 'json' && instance && typeof instance === 'object' && !Array.isArray(instance) &&
      Array.isArray(instance.instances)) {
    // A whole request body: the page's method and parameters only where it has none.
    // With explanationSpecOverride.parameters the body says everything (the
    // server then takes "parameters" as prediction parameters): left as it is.
    const body = { ...instance };
    if (!body.explanationSpecOverride?.parameters) {
      const own = { ...(instance.parameters || {}) };
      const methods = ['integratedGradientsAttribution', 'sampledShapleyAttribution', 'xraiAttribution'];
      const pageParameters = { ...parameters };
      if (methods.some((m) => m in own)) methods.forEach((m) => delete pageParameters[m]);  // its method wins
      body.parameters = { ...pageParameters, ...own };
    }
    return { body, instance: instance.instances[0], usedB64: false };
  }
  const usedB64 = Boolean(instance && typeof instance === 'object' && 'b64' in instance && state.mode === 'image');
  return { body: { instances: [instance], parameters }, instance, usedB64 };
}

async function explain(event) {
  event?.preventDefault();
  showError('');
  showNotice('');
  if (state.model?.unread) await selectModel(state.model.name);  // its details could not be read before
  const model = state.model;
  if (!model) return;
  if (model.unread) return;  // still unreadable: selectModel said why
  if (!model.loaded) {
    showError(`Model '${model.name}' is not loaded, so it cannot explain: ${model.reason}`);
    return;
  }
  let b64Refusal = null;  // the server's message when it refused the image file
  let preferB64 = true;  // the file itself, unless the server refuses it (then its pixels, below)
  let visualize = $('param-visualize').checked && state.serverVisualize !== false;
  const startGeneration = state.generation;
  $('explain-button').disabled = true;
  $('busy').hidden = false;
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      let request;
      try {
        request = buildRequest({ preferB64, visualize });
      } catch (error) {
        clearResult();  // not to be taken for this request's answer
        showError(errorText(error));
        return;
      }
      const started = performance.now();
      const generation = state.generation;
      try {
        const response = await api('POST', `/v1/models/${encodeURIComponent(model.name)}:explain`, request.body);
        const elapsed = performance.now() - started;
        // The model or instance changed while it ran: not an answer for what is on screen now.
        if (generation !== state.generation) return;
        if (visualize) state.serverVisualize = true;
        if (b64Refusal !== null) {
          // The pixels went through where the file did not (a file the server
          // could not decode or found too large): for this file only.
          showNotice(`The server refused the image file (${b64Refusal}); ` +
            'the page sent the pixels the browser decoded, at the model\'s size, instead.');
        }
        render(model, request, response, elapsed);
        return;
      } catch (error) {
        if (generation !== state.generation) return;
        const refused = error instanceof ApiError && error.httpStatus === 400;
        if (refused && visualize && /visualize/.test(error.message)) {
          // A server without the renderer: draw the pictures here instead.
          state.serverVisualize = false;
          visualize = false;
          continue;
        }
        const tooLarge = error instanceof ApiError && error.httpStatus === 413;
        if ((refused || tooLarge) && request.usedB64) {
          // A file the server cannot decode, or too many pixels: try the pixels
          // the page decoded (already at the model's size).
          b64Refusal = error.message;
          preferB64 = false;
          continue;
        }
        clearResult();  // not to be taken for this request's answer
        showError(errorText(error));
        return;
      }
    }
  } finally {
    // Another model or instance since (newInstance): its own state already.
    if (state.generation === startGeneration) endBusy();
  }
}

function endBusy() {
  $('explain-button').disabled = false;
  $('busy').hidden = true;
}

// --- showing the result -------------------------------------------------------------

function clearResult() {
  $('result').hidden = true;
  $('placeholder').hidden = false;
}

function outputLabel(entry) {
  const index = Array.isArray(entry.outputIndex) && entry.outputIndex.length ? `[${entry.outputIndex.join(', ')}]` : '';
  return `${entry.outputName || 'output'}${index}`;
}

function element(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function figure(content, caption) {
  const f = element('figure');
  f.append(content, element('figcaption', '', caption));
  return f;
}

function imageElement(src, className, alt) {
  const image = element('img', className);
  image.src = src;
  image.alt = alt;
  return image;
}

// Long strings (the pictures' base64) shortened for the JSON shown.
function shortJson(value) {
  return JSON.stringify(value, (_, v) => (typeof v === 'string' && v.length > 200 ? `${v.slice(0, 60)}… (${v.length} characters)` : v), 1)
    .replace(/\n\s+(-?[\d.e+-]+,?)(?=\n)/g, ' $1');
}

function render(model, request, response, elapsed) {
  $('placeholder').hidden = true;
  $('result').hidden = false;
  const explanation = (response.explanations || [])[0] || {};
  const entries = explanation.attributions || [];
  const prediction = (response.predictions || [])[0];
  const first = entries[0];

  const predictionText = first
    ? `${first.outputDisplayName !== undefined ? first.outputDisplayName : outputLabel(first)}: ` +
      `${formatNumber(first.instanceOutputValue)}`
    : JSON.stringify(prediction);
  $('prediction').textContent = predictionText;

  const table = $('prediction-table');
  table.replaceChildren();
  const outputName = first?.outputName;
  const classes = model.classNames[outputName] || [];
  if (Array.isArray(prediction) && prediction.length <= 20 && prediction.every((v) => typeof v === 'number')) {
    const explained = first?.outputIndex?.[0];
    prediction.forEach((value, i) => {
      const row = table.insertRow();
      if (i === explained) row.className = 'explained';
      row.insertCell().textContent = classes[i] !== undefined ? classes[i] : `${outputName || 'output'}[${i}]`;
      row.insertCell().textContent = formatNumber(value);
    });
  }

  const method = request.body.parameters.sampledShapleyAttribution ? 'sampled-shapley'
    : request.body.parameters.xraiAttribution ? 'xrai' : 'integrated-gradients';
  const config = Object.values(request.body.parameters).find((v) => v && typeof v === 'object') || {};
  const effort = config.pathCount ? `${config.pathCount} paths` : `${config.stepCount} steps`;
  $('time-taken').textContent = `Time taken: ${Math.round(elapsed)} ms (the :explain request, ` +
    `${METHOD_NAMES[method]}, ${effort}${config.smoothGradConfig ? ', SmoothGrad' : ''}).`;

  const container = $('entries');
  container.replaceChildren();
  entries.forEach((entry) => container.append(renderEntry(model, request, entry, method)));
  $('request-json').textContent = shortJson(request.body);
  $('response-json').textContent = shortJson(response);
  // One column (a narrow window): bring the result into view.
  if ($('result').getBoundingClientRect().top > window.innerHeight) $('result').scrollIntoView({ block: 'start' });
}

function renderEntry(model, request, entry, method) {
  const card = element('div', 'card entry');
  const name = entry.outputDisplayName !== undefined ? `'${entry.outputDisplayName}' (${outputLabel(entry)})` : outputLabel(entry);
  card.append(element('h2', '', `Attributions for ${name}`));

  const stats = element('dl', 'stats');
  const stat = (term, value, className) => {
    stats.append(element('dt', '', term));
    const dd = element('dd', className, value);
    stats.append(dd);
    return dd;
  };
  stat('output for the instance', formatNumber(entry.instanceOutputValue));
  stat('output for the baseline', formatNumber(entry.baselineOutputValue));
  if (typeof entry.approximationError === 'number') {
    const percent = entry.approximationError * 100;
    const high = entry.approximationError > 0.05;
    const dd = stat('approximation error', `${percent < 0.01 ? percent.toExponential(1) : percent.toFixed(2)}%`,
      high ? 'approx-error warning' : 'approx-error');
    if (high) {
      dd.append(element('span', 'warning-note',
        method === 'sampled-shapley' ? ' above 5%: raise the paths' : ' above 5%: raise the steps'));
    }
  }
  for (const key of ['stepCount', 'pathCount']) {
    if (entry[key] !== undefined) stat(key === 'stepCount' ? 'steps used' : 'paths used', String(entry[key]));
  }
  card.append(stats);

  const pictures = element('div', 'pictures');
  const attributions = entry.featureAttributions;
  const byInput = attributions && typeof attributions === 'object' && !Array.isArray(attributions)
    ? Object.entries(attributions) : [[null, attributions]];
  const imageInput = model.kind === 'image' || model.inputs.some((i) => pick(i.metadata, 'modality') === 'image');
  const imageParts = imageInput ? byInput.filter(([, v]) => asImageArray(v)) : [];
  const otherParts = byInput.filter((part) => !imageParts.includes(part));
  const base = imageBase(request);

  // The input image beside the explanation.
  if (imageParts.length && base) {
    pictures.append(figure(imageElement(drawImage(base.rgb, base.width, base.height).toDataURL(), 'input-image',
      'the instance'), 'the instance'));
  }

  const served = entry.visualizations && typeof entry.visualizations === 'object' ? entry.visualizations : null;
  if (served && Object.keys(served).length) {
    for (const [input, picture] of Object.entries(served)) {
      const svgPicture = /svg/.test(picture.mimeType || '');
      const image = imageElement(`data:${picture.mimeType};base64,${picture.data}`,
        svgPicture ? 'bar-chart visualization' : 'overlay visualization', `attributions of ${input}`);
      image.dataset.source = 'server';
      pictures.append(figure(image, `${input}: rendered by the server`));
    }
  } else {
    for (const [input, values] of imageParts) {
      const metadata = model.metadataInputs[input] || model.inputs[0]?.metadata || {};
      const settings = visualizationSettings(method, pick(metadata, 'visualization'));
      const attributionShape = asImageArray(values);
      const rgb = base && base.width === attributionShape.width && base.height === attributionShape.height ? base.rgb : null;
      const canvas = drawOverlay(values, rgb, settings);
      const image = imageElement(canvas.toDataURL('image/png'), 'overlay', `attributions of ${input || 'the image'}`);
      image.dataset.source = 'page';
      pictures.append(figure(image, `${input || 'image'}: ${settings.type}, ${settings.polarity} attributions, ` +
        `${settings.colorMap}, clipped to the ${settings.clipLower}–${settings.clipUpper} percentiles (drawn in the page)`));
    }
    if (otherParts.length) {
      const chartValue = otherParts.length === 1 && otherParts[0][0] === null ? otherParts[0][1]
        : Object.fromEntries(otherParts);
      const bars = flattenAttributions(chartValue, featureNamer(model, request));
      if (bars.length) {
        const topK = Math.max(1, Number($('param-top').value) || 10);
        const chart = drawBarChart(bars, topK);
        chart.dataset.source = 'page';
        pictures.append(figure(chart, `top ${Math.min(topK, bars.length)} of ${bars.length} features by |attribution| ` +
          '(drawn in the page)'));
      }
    }
  }
  card.append(pictures);
  if (model.kind === 'text' && otherParts.length) {
    const namer = featureNamer(model, request);
    const [input, values] = otherParts[0];
    const positions = Array.isArray(values) ? values.map((_, i) => namer(input, i)) : [];
    const legend = served && positions.length ? ` Positions: ${positions.join(' · ')}.` : '';
    card.append(element('p', 'hint token-legend', 'Tokens are the text split on whitespace and lower-cased, ' +
      `as the demo text model does; a model with its own tokenizer may split differently.${legend}`));
  }
  return card;
}

// The RGB picture of the image instance sent (to draw the overlay on).
function imageBase(request) {
  if (state.mode === 'image' && state.image) return state.image;
  const value = request.instance && typeof request.instance === 'object' && !Array.isArray(request.instance)
    ? Object.values(request.instance).find((v) => asImageArray(v)) : request.instance;
  const image = asImageArray(value);
  if (!image) return null;
  return { rgb: imageToRgb(image, domainOf(state.model.inputs[0] || {})), width: image.width, height: image.height };
}

// (input name, index) -> a bar's label: the table's field names with the
// value sent, the words of a text, or name[index].
function featureNamer(model, request) {
  const instance = request.instance;
  const texts = typeof instance === 'string' ? [instance]
    : instance && typeof instance === 'object' ? Object.values(instance).filter((v) => typeof v === 'string') : [];
  const tokens = texts.length === 1 ? texts[0].toLowerCase().split(/\s+/).filter(Boolean) : null;
  return (input, index) => {
    if (model.kind === 'table' && model.fields[index] && model.fields[0].index !== null && Array.isArray(instance)) {
      return `${model.fields[index].label} = ${formatNumber(instance[index])}`;
    }
    if (model.kind === 'text' && tokens) return `${index}: ${tokens[index] !== undefined ? tokens[index] : '(padding)'}`;
    const mapping = input && pick(model.metadataInputs[input], 'index_feature_mapping', 'indexFeatureMapping');
    if (Array.isArray(mapping) && mapping[index] !== undefined) return String(mapping[index]);
    return input ? `${input}[${index}]` : `feature ${index}`;
  };
}

// --- wiring ---------------------------------------------------------------------------

function start() {
  $('explain-form').addEventListener('submit', explain);
  $('model-select').addEventListener('change', (e) => selectModel(e.target.value));
  $('method-select').addEventListener('change', updateMethodParameters);
  $('param-smoothgrad').addEventListener('change', updateMethodParameters);
  $('example-button').addEventListener('click', () => useExample(Number($('example-select').value || 0)));
  $('example-select').addEventListener('change', (e) => useExample(Number(e.target.value)));
  $('image-file').addEventListener('change', (e) => onImageFile(e.target.files[0]));
  window.addEventListener('hashchange', () => {
    const wanted = new URLSearchParams(location.hash.slice(1)).get('model');
    if (wanted && wanted !== state.model?.name && state.models.some((m) => m.name === wanted)) {
      $('model-select').value = wanted;
      selectModel(wanted);
    }
  });
  // Enter in the token box uses the token (it submitted the explain form around it).
  $('auth-token').addEventListener('keydown', (e) => {
    if (e.key !== 'Enter') return;
    e.preventDefault();
    $('auth-save').click();
  });
  $('auth-save').addEventListener('click', () => {
    state.token = $('auth-token').value.trim();
    sessionStorage.setItem('xaiserve-token', state.token);
    $('auth').hidden = true;
    loadModels();
  });
  updateMethodParameters();
  loadModels();
}

start();
