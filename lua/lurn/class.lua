-- A minimal class helper for plain objects (optimizers, schedulers, loaders):
--   local SGD = class("SGD", Optimizer); function SGD:__init(...) ... end; SGD(...)
-- Metamethods of the parent (keys starting with "__", except __init) are inherited.
local function class(name, parent)
  local cls = {}
  if parent then
    for k, v in pairs(parent) do
      if type(k) == "string" and k:sub(1, 2) == "__" and k ~= "__init" then cls[k] = v end
    end
  end
  cls.__index = cls
  cls.__name = name
  cls.super = parent
  return setmetatable(cls, {
    __index = parent,
    __call = function(c, ...)
      local obj = setmetatable({}, c)
      if c.__init then c.__init(obj, ...) end
      return obj
    end,
    __tostring = function() return "class " .. name end,
  })
end

return class
