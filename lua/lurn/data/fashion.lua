-- data.fashion_mnist({split = "train" | "test", root = ...}) -> images float32 [N, 784] in
-- [0, 1], labels int64 [N]. Reads the IDX files of Debian's dataset-fashion-mnist.
local lurn = require "lurn"

local DEFAULT_ROOT = "/usr/share/datasets/fashion-mnist"
local FILES = {
  train = {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"},
  test = {"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"},
}
local CLASSES = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                 "Sneaker", "Bag", "Ankle boot"}

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

local function fashion_mnist(opts)
  opts = opts or {}
  if type(opts) ~= "table" then
    error(("fashion_mnist: options must be a table such as {split = \"test\"}, got %s"):format(type(opts)), 2)
  end
  if opts.root ~= nil and type(opts.root) ~= "string" then
    error(("fashion_mnist: root must be a directory name, got %s"):format(type(opts.root)), 2)
  end
  local split = opts.split or "train"
  local files = FILES[split]
  if not files then error("fashion_mnist: split must be \"train\" or \"test\"", 2) end
  local root = opts.root or os.getenv("LURN_FASHION_MNIST") or DEFAULT_ROOT
  local img_path, lbl_path = root .. "/" .. files[1], root .. "/" .. files[2]
  for _, path in ipairs({img_path, lbl_path}) do -- name the file that is missing
    if not exists(path) then
      error(("fashion_mnist: %s not found; install it with: apt-get install dataset-fashion-mnist "
        .. "(or pass {root = dir} holding %s and %s)"):format(path, files[1], files[2]), 2)
    end
  end
  if not lurn.read_idx then error("fashion_mnist: this build has no IDX reader", 2) end
  local images = lurn.read_idx(img_path, {dtype = "float32"})
  local labels = lurn.read_idx(lbl_path)
  local n = images:size(0)
  if labels:size(0) ~= n then
    error(("fashion_mnist: %d images but %d labels"):format(n, labels:size(0)), 2)
  end
  -- scaled to [0, 1] in place, a block of rows at a time: no second 188 MB copy
  local X = images:view(n, -1)
  lurn.no_grad(function()
    for i = 0, n - 1, 4096 do
      local rows = X:narrow(0, i, math.min(4096, n - i))
      local scaled = rows / 255
      rows:copy_(scaled)
      scaled:free() -- its buffer is reused by the next block
    end
  end)
  return X, labels
end

return {fashion_mnist = fashion_mnist, classes = CLASSES}
