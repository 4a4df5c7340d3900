-- lurn.data: datasets, loaders, splits, preprocessing and readers.
local lurn = require "lurn"
local pre = require "lurn.data.preprocess"
local fashion = require "lurn.data.fashion"

local data = {
  TensorDataset = require "lurn.data.dataset",
  DataLoader = require "lurn.data.loader",
  train_test_split = require "lurn.data.split",
  StandardScaler = pre.StandardScaler,
  standardize = pre.standardize,
  one_hot = pre.one_hot,
  subset = pre.subset,
  select_classes = pre.select_classes,
  per_class = pre.per_class,
  fashion_mnist = fashion.fashion_mnist,
  fashion_mnist_classes = fashion.classes,
}
-- the C readers and writers, under their data names as well
for _, name in ipairs({"read_csv", "read_npy", "save_npy", "read_idx"}) do
  data[name] = lurn[name]
end

return data
