SELECT neuron.id AS neuron_id, model.name AS model, neuron.site AS site, neuron.layer AS layer, neuron.unit AS unit, atlas_value(s0.vals, neuron.unit % ?) AS v0, atlas_value(s1.vals, neuron.unit % ?) AS v1 
FROM neuron JOIN model ON model.id = neuron.model_id JOIN score_vector AS s0 ON s0.set_id = ? AND s0.layer_id = neuron.layer_id AND s0.block = neuron.unit / ? LEFT OUTER JOIN score_vector AS s1 ON s1.set_id = ? AND s1.layer_id = neuron.layer_id AND s1.block = neuron.unit / ? 
WHERE neuron.model_id = ? AND neuron.site = ? AND atlas_value(s0.vals, neuron.unit % ?) >= ? ORDER BY atlas_value(s1.vals, neuron.unit % ?) ASC NULLS LAST, model.name, neuron.site, neuron.layer, neuron.unit
 LIMIT ? OFFSET ?
-- parameters: {'unit_1': 256, 'unit_2': 256, 'set_id_1': 317, 'unit_3': 256, 'set_id_2': 326, 'unit_4': 256, 'model_id_1': 1, 'site_1': 'mlp', 'param_1': 2.0, 'param_2': 11, 'param_3': 0}
-- score sets read:
-- vote[n=5](noun) of bert: run 2, method row 8 {"n":5}
-- vote_rank[n=5](noun) of bert: run 2, method row 9 {"n":5}
