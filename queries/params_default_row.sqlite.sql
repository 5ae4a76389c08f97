SELECT neuron.id AS neuron_id, model.name AS model, neuron.site AS site, neuron.layer AS layer, neuron.unit AS unit, atlas_value(s0.vals, neuron.unit % ?) AS v0 
FROM neuron JOIN model ON model.id = neuron.model_id JOIN score_vector AS s0 ON s0.set_id = ? AND s0.layer_id = neuron.layer_id AND s0.block = neuron.unit / ? 
WHERE neuron.model_id = ? AND neuron.layer = ? AND neuron.site = ? AND atlas_value(s0.vals, neuron.unit % ?) > ? ORDER BY atlas_value(s0.vals, neuron.unit % ?) DESC NULLS LAST, model.name, neuron.site, neuron.layer, neuron.unit
 LIMIT ? OFFSET ?
-- parameters: {'unit_1': 256, 'set_id_1': 209, 'unit_2': 256, 'model_id_1': 3, 'layer_1': 0, 'site_1': 'mlp', 'param_1': 0.0, 'param_2': 5, 'param_3': 0}
-- score sets read:
-- iou(noun) of minilm: run 5, method row 2 {}
