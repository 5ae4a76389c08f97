SELECT neuron.id AS neuron_id, model.name AS model, neuron.site AS site, neuron.layer AS layer, neuron.unit AS unit, atlas_value(s0.vals, neuron.unit % ?) AS v0, atlas_value(s1.vals, neuron.unit % ?) AS v1 
FROM neuron JOIN model ON model.id = neuron.model_id JOIN score_vector AS s0 ON s0.set_id = ? AND s0.layer_id = neuron.layer_id AND s0.block = neuron.unit / ? LEFT OUTER JOIN score_vector AS s1 ON s1.set_id = ? AND s1.layer_id = neuron.layer_id AND s1.block = neuron.unit / ? 
WHERE neuron.model_id = ? AND neuron.layer = ? AND neuron.site = ? AND atlas_value(s0.vals, neuron.unit % ?) IS NOT NULL AND atlas_value(s1.vals, neuron.unit % ?) IS NOT NULL AND atlas_value(s0.vals, neuron.unit % ?) < ? ORDER BY model.name, neuron.site, neuron.layer, neuron.unit
 LIMIT ? OFFSET ?
-- parameters: {'unit_1': 256, 'unit_2': 256, 'set_id_1': 230, 'unit_3': 256, 'set_id_2': 245, 'unit_4': 256, 'model_id_1': 3, 'layer_1': 0, 'site_1': 'mlp', 'param_1': 0.30000001192092896, 'param_2': 101, 'param_3': 0}
-- score sets read:
-- ap(question) of minilm: run 5, method row 4 {}
-- precision(noun) of minilm: run 5, method row 6 {}
