SELECT neuron.id AS neuron_id, model.name AS model, neuron.site AS site, neuron.layer AS layer, neuron.unit AS unit, atlas_value(s0.vals, neuron.unit % ?) AS v0, atlas_value(s1.vals, neuron.unit % ?) AS v1 
FROM neuron JOIN model ON model.id = neuron.model_id JOIN score_vector AS s0 ON s0.set_id IN (__[POSTCOMPILE_set_id_1]) AND s0.layer_id = neuron.layer_id AND s0.block = neuron.unit / ? LEFT OUTER JOIN score_vector AS s1 ON s1.set_id IN (__[POSTCOMPILE_set_id_2]) AND s1.layer_id = neuron.layer_id AND s1.block = neuron.unit / ? 
WHERE neuron.model_id IN (__[POSTCOMPILE_model_id_1]) AND CAST(neuron.layer AS FLOAT) / (CAST(model.n_layers AS FLOAT) + 0.0) >= ? AND neuron.site = ? AND atlas_value(s0.vals, neuron.unit % ?) > ? AND atlas_value(s1.vals, neuron.unit % ?) <= ? ORDER BY atlas_value(s0.vals, neuron.unit % ?) DESC NULLS LAST, model.name, neuron.site, neuron.layer, neuron.unit
 LIMIT ? OFFSET ?
-- parameters: {'unit_1': 256, 'unit_2': 256, 'set_id_1': [31, 175], 'unit_3': 256, 'set_id_2': [12, 156], 'unit_4': 256, 'model_id_1': [1, 2], 'param_1': 0.5, 'site_1': 'mlp', 'param_2': 0.800000011920929, 'param_3': 0.20000000298023224, 'param_4': 21, 'param_5': 0}
-- score sets read:
-- ap(past_tense) of bert: run 2, method row 4 {}
-- ap(past_tense) of gpt2: run 4, method row 4 {}
-- iou(plural) of bert: run 2, method row 2 {}
-- iou(plural) of gpt2: run 4, method row 2 {}
